"""How fast the Train page's replay answers a scrub: a move of its moment slider, in Chromium, on each shipped model.

    python benchmarks/replay_speed.py [--moves 8] [--note "..."]

It serves the app (``streamlit run`` on 127.0.0.1, the shipped models, runs in a temporary folder), opens
``/Train?run=<model>&step=<its first moment>`` for each shipped model in a fresh browser context, waits until the
page has drawn that moment, then presses the right arrow on the replay's slider ``--moves`` times. Each move is
timed from the key press until the page shows the next moment (both polled on every animation frame): its heading,
and for a model with attention the first heatmap holding that moment's weights. Every move is a moment the server had
not shown yet; its heatmap may have been built ahead, on a thread, after the step before (as it is for a person
scrubbing), its other figures are built on its first view. The goal is 150 ms per step.

Writes ``benchmarks/results/replay_speed.json`` and ``.md`` (``stored.store``): the median and slowest move per model,
and every sample.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from harness.browser import Server, missing_browser, new_tab, open_browser, wait_ready  # noqa: E402
from seq2seq.app.links import shipped_names  # noqa: E402
from seq2seq.attention import kind_aligns  # noqa: E402
from seq2seq.checkpoint import load_checkpoint  # noqa: E402
from seq2seq.paths import default_checkpoint_path  # noqa: E402
from seq2seq.plots import moment_title  # noqa: E402

GOAL_MS = 150
# Polled on every animation frame: a locator's own wait backs off to checks 100 ms and more apart, which would round
# every move up by as much.
_TITLE_SHOWN = """(title) => [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
    .some(shown => shown.innerText.trim() === title)"""
FIRST_CELL = """() => {
    const chart = document.querySelector('.st-key-replay_heatmap .js-plotly-plot');
    return chart && chart._fullData ? chart._fullData[0].z[0][0] : null;
}"""


def scrub(tab, url: str, name: str, snapshots: list, moves: int, aligns: bool) -> list[float]:
    """Open the replay of ``name`` at its first moment, then time ``moves`` presses of the right arrow (ms each)."""
    tab.goto(f"{url}/Train?run={name}&step={snapshots[0]['step']}")
    wait_ready(tab)
    tab.get_by_text(moment_title(snapshots[0]), exact=True).wait_for()
    slider = tab.locator(".st-key-replay_step").get_by_role("slider")
    slider.scroll_into_view_if_needed()
    took = []
    for shown in snapshots[1 : moves + 1]:
        weight = shown["examples"][-1]["attention"][0][0]
        slider.focus()
        start = time.perf_counter()
        slider.press("ArrowRight")
        tab.wait_for_function(_TITLE_SHOWN, arg=moment_title(shown), polling="raf")
        if aligns:
            tab.wait_for_function(f"() => Math.abs(({FIRST_CELL})() - {weight}) < 1e-9", polling="raf")
        took.append(round(1000 * (time.perf_counter() - start), 1))
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=8)
    parser.add_argument("--note", default="", help="conditions worth recording (a busy machine, ...)")
    args = parser.parse_args()
    if missing_browser():
        raise SystemExit(missing_browser())
    samples: dict[str, list[float]] = {}
    moments: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="seq2seq-replay-") as scratch:
        server = Server(default_checkpoint_path(), Path(scratch) / "runs", Path(scratch) / "streamlit.log")
        try:
            with open_browser() as browser:
                for name, path in shipped_names().items():
                    checkpoint = load_checkpoint(path)
                    moments[name] = len(checkpoint.snapshots)
                    aligns = kind_aligns(checkpoint.config.attention)
                    with new_tab(browser) as tab:
                        samples[name] = scrub(tab, server.url, name, checkpoint.snapshots, args.moves, aligns)
                    print(f"{name}: {samples[name]} ms", flush=True)
        finally:
            server.stop()
    rows = [
        f"| shipped model | moments | slider move, median | slowest | within {GOAL_MS} ms |",
        "|---|---|---|---|---|",
    ]
    for name, took in samples.items():
        median = statistics.median(took)
        within = "yes" if median <= GOAL_MS else "no"
        rows.append(f"| {name} | {moments[name]} | {median:.0f} ms | {max(took):.0f} ms | {within} |")
    table = "\n".join(rows)
    store(
        "replay_speed",
        {"goal ms": GOAL_MS, "moves": args.moves, "moments": moments, "samples ms": samples},
        table,
        " ".join(["python benchmarks/replay_speed.py", *sys.argv[1:]]),
        note=args.note,
    )
    print(table)


if __name__ == "__main__":
    main()
