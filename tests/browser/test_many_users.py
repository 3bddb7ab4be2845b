"""Many users on one server, in real browser sessions (Playwright, Chromium, ``streamlit run`` on 127.0.0.1).

- Two sessions: one trains; the other, idle on the Train page, sees the run appear by itself, then reverses sentences
  and browses the examples meanwhile, presses Start and is queued behind the run (its place shown), cancels its queued
  run (no second run starts), keeps its own active model throughout, and stops the first's run.
- The soak benchmark (``benchmarks/soak.py``) at a small scale: three pages type inputs, hostile ones included, while
  a training runs; every input is answered, nothing fails, and the server's memory stays flat.

Both share one server and one browser. They skip, saying why, only where no Chromium exists. A failing step saves a
screenshot of its page under ``test-screenshots/``.
"""

import contextlib
import re

import pytest

from harness.browser import (
    RUNNING,
    Server,
    missing_browser,
    new_tab,
    run_folders,
    shot_on_failure,
    sidebar_model,
    start_run,
    stop_any_run,
    submit_sentence,
    wait_for_reversal,
    wait_ready,
)

if missing_browser():
    pytest.skip(missing_browser(), allow_module_level=True)

from benchmarks.soak import Settings, run_soak  # noqa: E402 - imports Playwright helpers

RUN_LABEL = re.compile(r"^run \d{8}-\d{6}(-\d+)?$")

# Generous: a training run's data, model and optimizer come and go between "before" and "after". A leak per request
# would show in the growth over the traffic itself.
MAX_GROWTH_MB = 300
MAX_TRAFFIC_GROWTH_MB = 100


# The server and browser fixtures (one of each per module) are in tests/conftest.py.


def test_one_session_trains_while_another_reverses_browses_queues_a_run_cancels_it_and_stops_the_first(server, browser):
    try:
        two_sessions(server, browser)
    except BaseException:
        stop_any_run(browser, server.url)  # leave the server free for the next test
        raise


def two_sessions(server: Server, browser) -> None:
    with new_tab(browser) as trainer, new_tab(browser) as other, contextlib.ExitStack() as shots:
        shots.enter_context(shot_on_failure(trainer, "two_sessions_trainer"))
        shots.enter_context(shot_on_failure(other, "two_sessions_other"))
        trainer_sidebar = trainer.locator('[data-testid="stSidebar"]')
        other_sidebar = other.locator('[data-testid="stSidebar"]')

        # The second has the Train page open and idle when the first starts a tiny run that would go on for
        # minutes: it notices the run by itself, untouched.
        other.goto(f"{server.url}/Train")
        wait_ready(other)
        other.get_by_text("No training run on this server yet").wait_for()
        trainer.goto(f"{server.url}/Train")
        wait_ready(trainer)
        start_run(trainer, sentences=200, epochs=500, held_out=30)
        (run_dir,) = run_folders(server.runs_dir)
        other.get_by_text(RUNNING).first.wait_for(timeout=30_000)

        # Meanwhile the second reverses sentences on the shipped default and browses the examples.
        other.goto(server.url)
        wait_ready(other)
        assert sidebar_model(other) == "shipped default"
        other_sidebar.get_by_text("Training on this server:").wait_for()
        for sentence, expected in [("the cat sat", "sat cat the"), ("a big red bird", "bird red big a")]:
            submit_sentence(other, sentence)
            assert wait_for_reversal(other, expected) == expected
        other_sidebar.get_by_role("link", name="Examples", exact=True).click()
        other.get_by_text(re.compile(r"^60 of 60 sentences shown")).wait_for()
        other.locator('[data-testid="stDataFrame"]').first.wait_for()  # the table may come after its caption

        # On the Train page it sees the run; its Start waits in the queue, saying its place, and it cancels it: no
        # second run starts.
        other_sidebar.get_by_role("link", name="Train", exact=True).click()
        other.get_by_text(RUNNING).first.wait_for()
        other.get_by_role("button", name="Start training").click()
        other.get_by_text("Your run is queued: number 1 of 1 waiting.").wait_for()
        other.get_by_role("button", name="Cancel my queued run").click()
        other.get_by_text("Cancelled: your run left the queue.").wait_for()
        assert [p.name for p in run_folders(server.runs_dir)] == [run_dir.name]
        assert sidebar_model(other) == "shipped default"
        trainer.get_by_text(RUNNING).first.wait_for()  # still going, undisturbed

        # The second session stops the first one's run; the first sees it end with its best model saved.
        other.get_by_role("button", name="Stop", exact=True).click()
        trainer.get_by_text("finished (stopped by a user)").first.wait_for(timeout=120_000)
        assert (run_dir / "model.pt").is_file()

        # The first makes its run its active model. The second's stays the shipped default, and what the second
        # chooses (the same run, then the default again) never changes the first's.
        trainer.get_by_role("button", name="Make this run the active model").click()
        trainer_sidebar.get_by_text(RUN_LABEL).wait_for()
        other_sidebar.get_by_role("link", name="Try it", exact=True).click()
        submit_sentence(other, "the dog ran")
        assert wait_for_reversal(other, "ran dog the") == "ran dog the"
        assert sidebar_model(other) == "shipped default"
        other_sidebar.get_by_role("link", name="Runs", exact=True).click()
        other.get_by_role("button", name="Make active").click()
        other_sidebar.get_by_text(RUN_LABEL).wait_for()
        other_sidebar.get_by_role("button", name="Use the shipped default").click()
        other_sidebar.get_by_text("shipped default", exact=True).wait_for()
        trainer_sidebar.get_by_role("link", name="Try it", exact=True).click()
        trainer.get_by_role("textbox", name="Sentence", exact=True).wait_for()
        wait_ready(trainer)
        assert RUN_LABEL.match(sidebar_model(trainer))
        assert [p.name for p in run_folders(server.runs_dir)] == [run_dir.name]
        for tab in (trainer, other):
            assert tab.locator('[data-testid="stException"]').count() == 0


def test_small_soak_answers_every_input_without_error_and_memory_stays_flat(server, browser):
    settings = Settings(sentences=12, pages=3, max_seconds=120, hostile_every=3, train_sentences=200)
    figures, errors = run_soak(server, browser, settings)
    assert sum(errors.values()) == 0, (errors, figures["problems"], figures["blocked"])
    assert figures["served"] == figures["inputs"] == 12
    assert figures["hostile_served"] == 4 and figures["refused_over_limit"] == 1
    assert figures["training_throughout"] and figures["new_run_folders"] == 1 and figures["run_has_model"]
    assert figures["run_status"] == "finished" and figures["run_stop_reason"] == "stopped"
    rss = figures["rss_mb"]
    assert rss["after: run stopped, pages closed"] - rss["warm, before the training"] < MAX_GROWTH_MB, rss
    assert rss["end of the traffic"] - rss["after a quarter of the traffic"] < MAX_TRAFFIC_GROWTH_MB, rss
