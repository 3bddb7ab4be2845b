"""What keeping the replay costs training: the same run with the replay's figures taken at every validation and
without them, A against B, interleaved, in one sitting.

    python benchmarks/replay_cost.py [--rounds 3] [--note "..."]

Each measurement is a fresh process (one thread, as the shipped models were trained) that trains the built-in corpus
with a fixed budget and seed and 10 validations an epoch (as the shipped default). "with" is the code as it is:
every validation also takes a moment of the replay (the exact match per length and the mirror-peak share of every
validation decode, kept evenly thinned). "without" replaces ``seq2seq.replay.moment`` in that process by one that
keeps only what the snapshots held before the replay (the watched sentences' decodes and attention). The figure is
the run's wall-clock time (``wall_seconds`` of its last history row: training and validation), and the size of the
checkpoint it wrote. Rounds alternate which goes first.

Writes ``benchmarks/results/replay_cost.json`` and ``.md`` (``stored.store``): the medians, the ratio, every sample.
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402

TRAIN_FLAGS = ["--corpus-size", "3000", "--epochs", "2", "--evals-per-epoch", "10", "--seed", "0", "--device", "cpu"]
GOAL = 1.05  # the replay may cost training at most 5%

# Run in a fresh process: train as the command line does, with or without the replay's figures.
CHILD = """
import sys
import torch
torch.set_num_threads(1)
if sys.argv[1] == "without":
    import seq2seq.train
    from seq2seq.records import Snapshot, SnapshotExample

    def moment(epoch, step, scored, watched, aligns):
        examples = [SnapshotExample(tokens=r.tokens, output=r.output, attention=r.attention) for r in watched]
        return Snapshot(epoch=epoch, step=step, examples=examples, exact_by_length={}, mirror_peak_share=None)

    seq2seq.train.moment = moment
from seq2seq.cli import main
sys.exit(main(["train", *sys.argv[2:]]))
"""


def one_run(which: str, out: Path) -> dict[str, float]:
    command = [sys.executable, "-c", CHILD, which, *TRAIN_FLAGS, "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    with (out / "history.csv").open(encoding="utf-8") as rows:
        last = list(csv.DictReader(rows))[-1]
    return {"wall_s": float(last["wall_seconds"]), "checkpoint_kb": (out / "model.pt").stat().st_size / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--note", default="", help="conditions worth recording (a busy machine, ...)")
    args = parser.parse_args()
    samples: dict[str, dict[str, list[float]]] = {"without": {}, "with": {}}
    with tempfile.TemporaryDirectory(prefix="seq2seq-replay-cost-") as scratch:
        for round_ in range(args.rounds):
            order = ["without", "with"] if round_ % 2 == 0 else ["with", "without"]
            for which in order:
                for key, value in one_run(which, Path(scratch) / f"{which}-{round_}").items():
                    samples[which].setdefault(key, []).append(round(value, 3))
            print(f"round {round_ + 1}/{args.rounds}: {json.dumps(samples)}", flush=True)
    median = {which: {k: statistics.median(v) for k, v in s.items()} for which, s in samples.items()}
    ratio = median["with"]["wall_s"] / median["without"]["wall_s"]
    without_kb, with_kb = median["without"]["checkpoint_kb"], median["with"]["checkpoint_kb"]
    table = "\n".join(
        [
            f"| training (median of {args.rounds}) | without the replay | with it | with / without |",
            "|---|---|---|---|",
            f"| wall-clock, training and validation | {median['without']['wall_s']:.1f} s | "
            f"{median['with']['wall_s']:.1f} s | {ratio:.3f} |",
            f"| checkpoint size | {without_kb:.0f} kB | {with_kb:.0f} kB | {with_kb / without_kb:.3f} |",
        ]
    )
    store(
        "replay_cost",
        {"flags": TRAIN_FLAGS, "rounds": args.rounds, "ratio": ratio, "within goal": ratio <= GOAL, "samples": samples},
        table,
        " ".join(["python benchmarks/replay_cost.py", *sys.argv[1:]]),
        note=args.note,
    )
    print(table)


if __name__ == "__main__":
    main()
