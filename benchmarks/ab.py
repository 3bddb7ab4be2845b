"""Is this tree as fast as an earlier one? Training steps and decoding, A against B, interleaved. Run by hand:

    python benchmarks/ab.py --before <commit> [--rounds 5]

The earlier commit is checked out into a temporary git worktree (removed afterwards); each round runs both trees, in
alternating order, each measurement in its own fresh process:

- training: ``python -m seq2seq train`` on the built-in corpus with a fixed budget and seed (the same batches in
  both trees); the figure is the run's own ``train_seconds`` (validation excluded) from its ``history.csv``;
- decoding: the shipped default model greedily reversing its first 1,000 test sentences in one batch (best of 5
  inside the process, after a warm-up), and one 10-word sentence (median of 100).

It reports the medians over rounds and the ratio after / before, and stores them in ``benchmarks/results/ab.json`` and
``.md`` (``benchmarks/stored.py``), which ``docs/speed.md`` quotes. Compare only figures from one run: this machine's
speed drifts between sittings.
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

TRAIN_FLAGS = ["--corpus-size", "3000", "--epochs", "2", "--evals-per-epoch", "2", "--seed", "0", "--device", "cpu"]

# Run inside each tree: the decoding API is found where that tree keeps it.
DECODE_CHILD = """
import json, statistics, sys, time
import torch
torch.set_num_threads(1)
try:
    from seq2seq.inference import Reverser
except ImportError:
    from seq2seq.decoding import Reverser
reverser = Reverser.load("artifacts/model.pt")
test = reverser.checkpoint.test_sentences[:1000]
reverser.reverse_tokens(test, batch_size=1000)
batch = []
for _ in range(5):
    start = time.perf_counter()
    reverser.reverse_tokens(test, batch_size=1000)
    batch.append(time.perf_counter() - start)
single = []
for _ in range(100):
    start = time.perf_counter()
    reverser.reverse("the big dog saw a small cat near the river")
    single.append(time.perf_counter() - start)
print(json.dumps({"batch_s": min(batch), "single_ms": statistics.median(single) * 1e3}))
"""


def train_seconds(tree: Path, out: Path) -> float:
    command = [sys.executable, "-m", "seq2seq", "train", *TRAIN_FLAGS, "--out", str(out)]
    subprocess.run(command, cwd=tree, check=True, capture_output=True, text=True)
    with (out / "history.csv").open(encoding="utf-8") as rows:
        return float(list(csv.DictReader(rows))[-1]["train_seconds"])


def decode_times(tree: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", DECODE_CHILD], cwd=tree, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-store", action="store_true", help="print only")
    args = parser.parse_args()
    before_commit = subprocess.run(
        ["git", "rev-parse", "--short", args.before], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    figures: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory(prefix="seq2seq-ab-") as scratch:
        before = Path(scratch) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            for round_ in range(args.rounds):
                order = [("before", before), ("after", ROOT)]
                for name, tree in order if round_ % 2 == 0 else order[::-1]:
                    runs = figures[name]
                    out = Path(scratch) / f"run-{name}-{round_}"
                    runs.setdefault("train_s", []).append(train_seconds(tree, out))
                    for key, value in decode_times(tree).items():
                        runs.setdefault(key, []).append(value)
                print(f"round {round_ + 1}/{args.rounds}: "
                      + ", ".join(f"{n} {k} {v[-1]:.3f}" for n in figures for k, v in figures[n].items()),
                      flush=True)  # fmt: skip
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, capture_output=True)
    labels = {
        "train_s": "training, 2 epochs of 3,000 sentences (train_seconds)",
        "batch_s": "decoding 1,000 test sentences in one batch (s)",
        "single_ms": "decoding one 10-word sentence (ms)",
    }
    rows = {}
    for key, label in labels.items():
        old, new = statistics.median(figures["before"][key]), statistics.median(figures["after"][key])
        rows[key] = {"label": label, "before": old, "after": new, "ratio": new / old}
    header = f"| measure (median of {args.rounds}) | before ({before_commit}) | after | after / before |"
    table = "\n".join(
        [header, "|---|---|---|---|"]
        + [f"| {r['label']} | {r['before']:.3f} | {r['after']:.3f} | {r['ratio']:.2f} |" for r in rows.values()]
    )
    print(table)
    if not args.no_store:
        data = {"before": before_commit, "rounds": args.rounds, "rows": rows, "all": figures}
        store("ab", data, table, f"python benchmarks/ab.py --before {before_commit} --rounds {args.rounds}")


if __name__ == "__main__":
    main()
