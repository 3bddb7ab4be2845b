"""The Learn page in Chromium: a step answered wrong, then right, with the score and the reveal checked each time."""

import os
import time
from pathlib import Path

import pytest

from harness.browser import (
    LEARN_REVEAL,
    Server,
    answer_step,
    missing_browser,
    new_tab,
    screenshot_when_drawn,
    shot_on_failure,
    wait_ready,
)
from seq2seq.decoding import Reverser
from seq2seq.lessons import LESSONS, Models
from seq2seq.paths import CHECKPOINT_ENV, DEFAULT_CHECKPOINT

if missing_browser():
    pytest.skip(missing_browser(), allow_module_level=True)


def test_a_step_answered_wrong_then_right(server, browser, tiny_reverser):
    question = LESSONS[0].steps[0].ask(Models(tiny_reverser))  # what the page asks of the same model
    wrong = next(option for option in question.options if option != question.truth)
    with new_tab(browser) as tab, shot_on_failure(tab, "learn_wrong_then_right"):
        tab.goto(f"{server.url}/Learn?lesson=1&step=1")
        wait_ready(tab)
        tab.get_by_text("Step 1 of 4: The pattern").wait_for()
        assert tab.get_by_text("No answers yet").count() == 1

        answer_step(tab, wrong)
        alert = tab.locator('[data-testid="stAlert"]').filter(has_text="Not this time")
        assert f"the model's answer is {question.truth}" in alert.inner_text()
        assert tab.locator(LEARN_REVEAL).inner_text().startswith(question.reveal.split(".")[0])
        assert tab.get_by_text("Score: 0 of 1").count() == 1

        tab.get_by_role("button", name="Try again").click()
        wait_ready(tab)
        answer_step(tab, question.truth)
        assert tab.locator('[data-testid="stAlert"]').filter(has_text=f"Right: {question.truth}").count() == 1
        assert tab.get_by_text("Score: 1 of 1").count() == 1
        assert tab.url.endswith("/Learn?lesson=1&step=1&model=default")


@pytest.mark.skipif(not os.environ.get("SEQ2SEQ_SCREENSHOTS"), reason="set SEQ2SEQ_SCREENSHOTS=<folder> to take it")
def test_screenshot_of_a_lesson(tmp_path, browser):
    """Lesson 1's first step answered, on the shipped default model (``SEQ2SEQ_CHECKPOINT`` may name another), as
    ``learn.png`` in that folder (docs/learn.md shows docs/screenshots/learn.png)."""
    out = Path(os.environ["SEQ2SEQ_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(os.environ.get(CHECKPOINT_ENV) or DEFAULT_CHECKPOINT)
    question = LESSONS[0].steps[0].ask(Models(Reverser.load(checkpoint)))
    shots = Server(checkpoint, tmp_path / "runs", tmp_path / "streamlit.log")
    try:
        with new_tab(browser) as tab, shot_on_failure(tab, "screenshot_learn"):
            tab.set_viewport_size({"width": 1400, "height": 1900})
            tab.goto(f"{shots.url}/Learn?lesson=1&step=1")
            wait_ready(tab)
            answer_step(tab, question.truth)
            time.sleep(1.5)  # let Plotly finish drawing
            screenshot_when_drawn(tab, out / "learn.png")
    finally:
        shots.stop()
