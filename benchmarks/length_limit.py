"""What limits a model on sentences longer than it trained on: where, in a long sentence, its attention first leaves
the mirror position, and whether the output goes wrong there. Inference only (seconds). Run by hand:

    python benchmarks/length_limit.py                                  # the shipped default, artifacts/model.pt
    python benchmarks/length_limit.py --checkpoint artifacts/additive/model.pt

Sentences are test sentences joined and cut to length, as the stress suite's long ones. For each failing sentence it
finds the first decoder step whose attention peak is not on the mirror position (step i of n words should read word
n + 1 - i), and reports that step counted from the start and from the end of the output. If the peak slips at about
the same step counted from the start whatever the length, the decoder has lost count (its state drifts); if it
slips at the same place counted from the end, the trouble is where the sentence begins; if the peak stays on the
mirror and the word is still wrong, the readout, not the attention, failed. Each failure also gets its label from
``seq2seq.failures`` (the first thing that went wrong), counted per length.
"""

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.failures import FAILURES, failure_label, first_error, first_slip  # noqa: E402
from seq2seq.fileio import atomic_write_text  # noqa: E402
from seq2seq.paths import default_checkpoint_path  # noqa: E402
from seq2seq.stress import trained_lengths  # noqa: E402


def joined_sentences(test: list[list[str]], length: int, count: int, rng: random.Random) -> list[list[str]]:
    """``count`` sentences of ``length`` words: test sentences drawn with ``rng``, joined, and cut to length."""
    sentences = []
    for _ in range(count):
        words: list[str] = []
        while len(words) < length:
            words += rng.choice(test)
        sentences.append(words[:length])
    return sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=default_checkpoint_path())
    parser.add_argument("--lengths", type=int, nargs="+", default=[30, 40, 45, 50, 55, 60, 70])
    parser.add_argument("--per-length", type=int, default=50)
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    reverser = Reverser.load(args.checkpoint)
    test = [s for s in reverser.checkpoint.test_sentences if s]
    aligns = reverser.model.decoder.attention.aligns
    rng = random.Random(1234)
    rows = []
    for length in args.lengths:
        results = reverser.reverse_tokens(joined_sentences(test, length, args.per_length, rng))
        failed = [r for r in results if not r.match]
        labels = [failure_label(r, aligns) for r in failed]
        slips = [(first_slip(r), first_error(r)) for r in failed]
        slipped = [(s, e) for s, e in slips if s is not None]
        rows.append({
            "length": length,
            "exact_match": sum(r.match for r in results) / len(results),
            "failed": len(failed),
            "failed_with_attention_slip": len(slipped),
            "slip_step_from_start_median": statistics.median(s for s, _ in slipped) if slipped else None,
            "slip_step_from_end_median": statistics.median(length - 1 - s for s, _ in slipped) if slipped else None,
            "error_at_or_after_slip": sum(e is not None and e >= s for s, e in slipped),
            "first_error_step_median": statistics.median(e for _, e in slips if e is not None) if failed else None,
            "stopped_early": sum(len(r.output) < length for r in failed),
            "went_on": sum(len(r.output) > length for r in failed),
            "wrong_word_right_length": sum(len(r.output) == length for r in failed),
            "failures": {label: labels.count(label) for label in FAILURES},
        })  # fmt: skip
    corpus, seen = trained_lengths(reverser.checkpoint)
    print(f"{args.checkpoint}: longest training sentence {corpus} words, longest example trained on {seen}")
    print(f"| words | exact match | failed | stopped early / went on / wrong word | {' / '.join(FAILURES)} "
          "| first wrong step (median) | attention slipped | slip step from start / end (median) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        where = (
            f"{row['slip_step_from_start_median']} / {row['slip_step_from_end_median']}"
            if row["failed_with_attention_slip"]
            else "-"
        )
        kinds = f"{row['stopped_early']} / {row['went_on']} / {row['wrong_word_right_length']}"
        labels = " / ".join(str(row["failures"][label]) for label in FAILURES)
        print(f"| {row['length']} | {row['exact_match']:.2f} | {row['failed']} | {kinds} | {labels} "
              f"| {row['first_error_step_median']} | {row['failed_with_attention_slip']} | {where} |")  # fmt: skip
    if args.out:
        atomic_write_text(args.out, json.dumps({"checkpoint": str(args.checkpoint), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
