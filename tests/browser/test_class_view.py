"""The Class page in Chromium: a teacher creates a class, two learners answer on the Learn page through the students'
link, each in a browser of its own, the teacher's live histogram counts them, and a server restart keeps the counts.

With ``SEQ2SEQ_SCREENSHOTS=<folder>`` set, ``test_screenshot_of_the_teacher_view`` writes ``class_view.png`` there.
"""

import os
import time
from pathlib import Path

import pytest

from harness.browser import (
    Server,
    answer_step,
    missing_browser,
    new_tab,
    screenshot_when_drawn,
    shot_on_failure,
    wait_ready,
)
from seq2seq.app.classes import record_answer, record_position
from seq2seq.app.database import database_path
from seq2seq.lessons import LESSONS, Models
from seq2seq.paths import CHECKPOINT_ENV, DEFAULT_CHECKPOINT

if missing_browser():
    pytest.skip(missing_browser(), allow_module_level=True)

# The counts the first step's live histogram shows: {answer label: learners}, or null before it is drawn.
_HISTOGRAM = """() => {
  const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!plot || !plot.data) return null;
  const bar = plot.data[0];
  return Object.fromEntries(bar.y.map((label, i) => [label, bar.x[i]]));
}"""


def wait_for_histogram(tab, expected: dict, timeout: float = 60) -> None:
    """Wait until the histogram shows ``expected`` (the fragment redraws it every few seconds, without a reload)."""
    deadline = time.monotonic() + timeout
    while (shown := tab.evaluate(_HISTOGRAM)) != expected:
        assert time.monotonic() < deadline, f"the histogram shows {shown}, not {expected}"
        time.sleep(0.25)


def create_class_in(tab, url: str) -> str:
    """Create a class on the Class page; return the teacher's link (the page's URL once it is made)."""
    tab.goto(f"{url}/Class")
    wait_ready(tab)
    tab.get_by_role("button", name="Create a class").click()
    tab.get_by_text("The students' link", exact=True).wait_for()
    wait_ready(tab)
    return tab.url


def test_two_learners_answers_reach_the_live_histogram_and_outlive_a_restart(
    tmp_path, browser, tiny_checkpoint, tiny_reverser
):
    question = LESSONS[0].steps[0].ask(Models(tiny_reverser))  # what the Learn page asks of the same model
    wrong = next(option for option in question.options if option != question.truth)
    right = f"✓ {question.truth}"  # the truth's bar is labelled with a mark, not told by colour alone
    runs = tmp_path / "runs"
    server = Server(tiny_checkpoint, runs, tmp_path / "streamlit.log")
    try:
        with new_tab(browser) as teacher, shot_on_failure(teacher, "class_view_live"):
            link = create_class_in(teacher, server.url).removeprefix(server.url)  # /Class?class=...&key=...
            code = link.split("class=")[1].split("&")[0]
            students = teacher.locator('[data-testid="stCode"]').first.inner_text().strip()
            assert students == f"{server.url}/Learn?class={code}" and "key" not in students
            with new_tab(browser) as one, new_tab(browser) as two, shot_on_failure(one, "class_view_learner"):
                for learner in (one, two):  # each a browser of its own: one browser session, one learner
                    learner.goto(f"{students}&lesson=1&step=1")
                    wait_ready(learner)
                answer_step(one, wrong)
                wait_for_histogram(teacher, {wrong: 1, right: 0})
                answer_step(two, question.truth)
                wait_for_histogram(teacher, {wrong: 1, right: 1})
                one.get_by_role("button", name="Try again").click()
                wait_ready(one)
                answer_step(one, question.truth)  # the same learner's second answer replaces the first
                wait_for_histogram(teacher, {right: 2})
    finally:
        assert server.stop() in (0, -15)
    assert "Traceback" not in server.log(last=10**7), server.log()

    restarted = Server(tiny_checkpoint, runs, tmp_path / "restarted.log")
    try:
        with new_tab(browser) as teacher, shot_on_failure(teacher, "class_view_restarted"):
            teacher.goto(f"{restarted.url}{link}")  # a new server, on another port
            wait_ready(teacher)
            wait_for_histogram(teacher, {right: 2})
            assert teacher.get_by_text(f"2 learners in class {code}").count() == 1  # both learners kept too
    finally:
        assert restarted.stop() in (0, -15)
    assert "Traceback" not in restarted.log(last=10**7), restarted.log()


# A class of 24 learners part-way through the first lessons, for the picture: step, answers (label: learners), truth.
PICTURE_ANSWERS = [
    ((1, 1), {"mat": 15, "the": 5, "on": 3}, "mat"),
    ((1, 2), {"yes": 17, "no": 4}, "yes"),
    ((2, 1), {"4 of 4 words": 6, "2 of 4 words": 9, "none": 3}, "2 of 4 words"),
]


@pytest.mark.skipif(not os.environ.get("SEQ2SEQ_SCREENSHOTS"), reason="set SEQ2SEQ_SCREENSHOTS=<folder> to take it")
def test_screenshot_of_the_teacher_view(tmp_path, browser):
    out = Path(os.environ["SEQ2SEQ_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(os.environ.get(CHECKPOINT_ENV) or DEFAULT_CHECKPOINT)
    runs = tmp_path / "runs"
    server = Server(checkpoint, runs, tmp_path / "streamlit.log")
    try:
        with new_tab(browser) as tab, shot_on_failure(tab, "screenshot_class_view"):
            tab.set_viewport_size({"width": 1400, "height": 1560})
            link = create_class_in(tab, server.url)
            code = link.split("class=")[1].split("&")[0]
            for (lesson, step), answers, truth in PICTURE_ANSWERS:
                given = [answer for answer, count in answers.items() for _ in range(count)]
                for learner, answer in enumerate(given, start=1):
                    record_answer(code, f"learner-{learner}", lesson, step, answer, truth, answer == truth,
                                  path=database_path(runs))  # fmt: skip
            for learner in range(1, 25):  # where each is now: most on lesson 2
                record_position(code, f"learner-{learner}", 2, 1 if learner > 6 else 2, path=database_path(runs))
            tab.reload()
            wait_ready(tab)
            tab.locator('[data-testid="stPlotlyChart"]').nth(len(PICTURE_ANSWERS) - 1).wait_for()
            time.sleep(1.5)  # let Plotly finish drawing
            screenshot_when_drawn(tab, out / "class_view.png")
    finally:
        server.stop()
