"""How long the Learn page takes from an answer to its reveal, per lesson, on the shipped models, in Chromium.

    python benchmarks/lesson_speed.py [--repeats 3] [--note "..."]

``streamlit run`` serves the app on the shipped models (``harness.browser.Server``); Debian's Chromium opens every
step of every lesson by its link (``/Learn?lesson=L&step=S``), which asks the step's question, then answers it
``--repeats`` times (``Try again`` between answers). Each answer is timed from the press of "Check my answer" to the
reveal drawn: its text and every one of its charts on screen (``harness.browser.answer_step``). The goal is 300 ms.

Writes ``benchmarks/results/lesson_speed.json`` and ``.md`` (``stored.store``): per lesson the median and the slowest
answer over its steps, and every sample.
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from harness.browser import Server, answer_step, missing_browser, new_tab, wait_ready  # noqa: E402
from seq2seq.app.models import shipped_models  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.lessons import LESSONS, Models, Question  # noqa: E402
from seq2seq.paths import default_checkpoint_path  # noqa: E402

GOAL_MS = 300


def time_step(tab, url: str, lesson: int, step: int, question: Question, repeats: int) -> list[float | None]:
    """Milliseconds from each answer to its reveal, on one step opened by its link; None for an answer whose reveal
    did not come within a minute (counted in the table, never left out)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab.goto(f"{url}/Learn?lesson={lesson}&step={step}")
    wait_ready(tab, 120_000)
    tab.get_by_text(f"Step {step} of").first.wait_for(timeout=120_000)
    tab.locator(".st-key-learn_next").wait_for(timeout=120_000)  # drawn last, once the question is asked
    if not question.options:  # a step these models cannot answer: nothing to time
        return []
    choice = question.options[0]
    samples = []
    for repeat in range(repeats):
        if repeat:
            tab.get_by_role("button", name="Try again").click()
            wait_ready(tab)
        try:
            samples.append(1000 * answer_step(tab, choice, len(question.figures)))
        except PlaywrightTimeout:
            samples.append(None)
            break  # the page is in an unknown state: on to the next step, opened afresh
        print(f"  lesson {lesson} step {step}: {samples[-1]:.0f} ms", flush=True)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    if missing_browser():
        raise SystemExit(missing_browser())
    from harness.browser import open_browser

    reversers = tuple(Reverser.load(path) for path in shipped_models())
    models = Models(reversers[0], reversers)  # what the page asks, asked here too: its options and its figures
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        server = Server(default_checkpoint_path(), Path(folder) / "runs", Path(folder) / "streamlit.log")
        try:
            with open_browser() as browser, new_tab(browser, timeout_ms=120_000) as tab:
                for lesson, each in enumerate(LESSONS, start=1):
                    samples[str(lesson)] = {
                        str(step): time_step(tab, server.url, lesson, step, s.ask(models), args.repeats)
                        for step, s in enumerate(each.steps, start=1)
                    }
                    print(f"lesson {lesson}: {samples[str(lesson)]}", flush=True)
        finally:
            server.stop()

    rows = [
        "| lesson | steps timed | median answer → reveal (ms) | slowest (ms) | no reveal within a minute |",
        "|---|---|---|---|---|",
    ]
    summary = {}
    for lesson, each in enumerate(LESSONS, start=1):
        times = [t for step in samples[str(lesson)].values() for t in step if t is not None]
        lost = sum(t is None for step in samples[str(lesson)].values() for t in step)
        timed = sum(1 for step in samples[str(lesson)].values() if step)
        median, slowest = (round(statistics.median(times)), round(max(times))) if times else (None, None)
        summary[str(lesson)] = {
            "title": each.title,
            "steps_timed": timed,
            "median_ms": median,
            "max_ms": slowest,
            "timed_out": lost,
        }
        rows.append(f"| {lesson}. {each.title} | {timed} of {len(each.steps)} | {median} | {slowest} | {lost} |")
    every = [t for lesson in samples.values() for step in lesson.values() for t in step]
    within = sum(t is not None and t <= GOAL_MS for t in every)
    rows.append("")
    rows.append(f"{within} of {len(every)} answers revealed within {GOAL_MS} ms.")
    store(
        "lesson_speed",
        {"goal_ms": GOAL_MS, "lessons": summary, "within_goal": within, "answers": len(every), "samples": samples},
        "\n".join(rows),
        f"python benchmarks/lesson_speed.py --repeats {args.repeats}",
        args.note,
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
