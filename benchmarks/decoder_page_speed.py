"""How long a move of the Decoder page's step slider takes on a 100-token sentence, and how much it sends: the page at
an earlier commit against the page as it is, in one run, interleaved.

    python benchmarks/decoder_page_speed.py [--before <commit>] [--moves 5] [--note "..."]

Both pages run in Streamlit's ``AppTest`` on the shipped model, with a sentence of 100 tokens made of its test
sentences. Each page is opened once (timed: the first view), then its step slider is moved ``--moves`` times; the
moves of the two pages alternate. A move reruns what the browser would rerun: the whole page for the earlier page
(it has no fragment), only the step's fragment for the page as it is (``AppTest`` reruns the whole page, so the
benchmark asks for the fragment the way the browser does). "Sent" is the size of the messages the run produced,
which is what goes over the websocket. Each page runs as a script of its own, without the app's frame (menu and
sidebar), so that the two pay alike. The earlier page reads ``git show <before>:pages/decoder.py`` and runs from a
temporary file beside the others (removed afterwards), against the library as it is now, so ``--before`` must name
a commit whose page runs on today's library; without it, only the page as it is is timed.

Writes ``benchmarks/results/decoder_page_speed.json`` and ``.md`` (``stored.store``): medians, and every sample.
"""

import argparse
import statistics
import subprocess
import sys
import time
from functools import partial
from itertools import chain, cycle, islice
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from streamlit.runtime.scriptrunner import RerunData  # noqa: E402
from streamlit.testing.v1 import AppTest, local_script_runner  # noqa: E402

from benchmarks.stored import store  # noqa: E402
from seq2seq.app.decoder_view import STEP_FRAGMENT  # noqa: E402
from seq2seq.checkpoint import load_checkpoint  # noqa: E402
from seq2seq.paths import default_checkpoint_path  # noqa: E402
from seq2seq.tokenize import MAX_SENTENCE_TOKENS  # noqa: E402

BEFORE_PAGE = ROOT / "pages" / "decoder_before.py"


class Counted:
    """Each run's messages, in bytes: ``AppTest`` parses them with ``parse_tree_from_messages``."""

    def __init__(self) -> None:
        self.sent = 0
        self._parse = local_script_runner.parse_tree_from_messages

    def __call__(self, messages):
        self.sent = sum(message.ByteSize() for message in messages)
        return self._parse(messages)


def long_sentence() -> str:
    tests = load_checkpoint(default_checkpoint_path()).test_sentences
    return " ".join(islice(chain.from_iterable(cycle(tests)), MAX_SENTENCE_TOKENS))


def open_page(page: Path, sentence: str, counted: Counted) -> tuple[AppTest, float, int]:
    at = AppTest.from_file(str(page), default_timeout=600)
    at.session_state["decoder_sentence"] = sentence
    start = time.perf_counter()
    at.run()
    took = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"{page}: {at.exception}")
    return at, took, counted.sent


def move(at: AppTest, step: int, counted: Counted, fragment: bool) -> tuple[float, int]:
    """Move the step slider and rerun what the browser would rerun; the seconds and the bytes sent."""
    at.slider(key="decoder_step").set_value(step)
    ids = at._fragment_storage.resolve_target(STEP_FRAGMENT) if fragment else []
    with patch.object(local_script_runner, "RerunData", partial(RerunData, fragment_id_queue=ids)):
        start = time.perf_counter()
        at.run()
        took = time.perf_counter() - start
    if at.exception:
        raise SystemExit(str(at.exception))
    return took, counted.sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a commit whose Decoder page is timed too, alternating with today's")
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--note", default="", help="conditions worth recording (a busy machine, ...)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    compared = [("after", ROOT / "pages" / "decoder.py")]
    if args.before:
        before = subprocess.run(
            ["git", "show", f"{args.before}:pages/decoder.py"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        BEFORE_PAGE.write_text(before)
        compared.insert(0, ("before", BEFORE_PAGE))
    sentence = long_sentence()
    counted = Counted()
    samples: dict[str, dict[str, list]] = {
        name: {"first view s": [], "first view bytes": [], "move s": [], "move bytes": []} for name, _ in compared
    }
    try:
        with patch.object(local_script_runner, "parse_tree_from_messages", counted):
            pages = {}
            for name, page in compared:
                at, took, sent = open_page(page, sentence, counted)
                pages[name] = at
                samples[name]["first view s"].append(round(took, 3))
                samples[name]["first view bytes"].append(sent)
            steps = pages["after"].slider(key="decoder_step").max
            for i in range(args.moves):
                step = 2 + (7 * i) % (steps - 1)
                for name, at in pages.items():
                    took, sent = move(at, step, counted, fragment=name == "after")
                    samples[name]["move s"].append(round(took, 3))
                    samples[name]["move bytes"].append(sent)
    finally:
        BEFORE_PAGE.unlink(missing_ok=True)
    medians = {name: {what: statistics.median(values) for what, values in s.items()} for name, s in samples.items()}
    rows = [
        "| page | first view | sent | step-slider move (median) | sent per move |",
        "|---|---|---|---|---|",
    ]
    for name, label in (("before", f"at {args.before}"), ("after", "as it is")):
        if name not in medians:
            continue
        m = medians[name]
        rows.append(
            f"| {label} | {m['first view s']:.2f} s | {m['first view bytes'] / 1e6:.2f} MB | "
            f"{1000 * m['move s']:.0f} ms | {m['move bytes'] / 1e6:.3f} MB |"
        )
    table = "\n".join(rows)
    store(
        "decoder_page_speed",
        {"sentence tokens": MAX_SENTENCE_TOKENS, "decoder steps": steps, "moves": args.moves, "samples": samples},
        table,
        " ".join(["python benchmarks/decoder_page_speed.py", *sys.argv[1:]]),
        note=args.note,
    )
    print(table)


if __name__ == "__main__":
    main()
