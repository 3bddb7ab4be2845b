"""Where the stop decision comes from, measured: train the default config once per ``stop`` setting (seq2seq.config
STOP_KINDS) with the same budget on several seeds, and score each model on sentences up to three times the longest
example it trained on. Run by hand (minutes per model):

    python benchmarks/length_fix.py                                   # every stop setting, seeds 0 1 2
    python benchmarks/length_fix.py --stops readout attention --epochs 1 --seeds 0
    python benchmarks/length_fix.py --train-file corpus.txt          # a corpus file instead of the built-in one

For each model: exact match at every length from 1 to ``--factor`` times the longest example trained on (joined
pairs included), ``--per-length`` sentences each, made as ``benchmarks/length_limit.py`` makes them (test sentences
joined and cut to length); test exact match; the lowest exact match over the stress suites; the training seconds to
99% valid exact match; and how many of the wrong long decodes stopped early. A full run (every stop setting, three
seeds or more) stores its figures in ``benchmarks/results/length_fix.json`` and ``.md`` (``benchmarks/stored.py``),
which ``docs/model.md`` quotes and ``tests/docs/test_docs_figures.py`` checks.
"""

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ablation import time_to  # noqa: E402
from benchmarks.length_limit import joined_sentences  # noqa: E402
from benchmarks.stored import store  # noqa: E402
from seq2seq.config import STOP_KINDS, Config  # noqa: E402
from seq2seq.data import load_run_data  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.run_folder import Trainer  # noqa: E402
from seq2seq.stress import build_suites, run_stress, trained_lengths  # noqa: E402

GOAL = 0.99  # exact match every length must reach


def score_lengths(reverser: Reverser, factor: int, per_length: int, seed: int) -> dict:
    """Exact match at each length from 1 to ``factor`` x the longest example trained on, and how the misses ended."""
    test = [s for s in reverser.checkpoint.test_sentences if s]
    _, seen = trained_lengths(reverser.checkpoint)
    rng = random.Random(1234 + seed)  # the same sentences for every stop setting of a seed
    exact, stopped_early, went_on = {}, 0, 0
    for length in range(1, factor * seen + 1):
        results = reverser.reverse_tokens(joined_sentences(test, length, per_length, rng))
        exact[length] = sum(r.match for r in results) / len(results)
        stopped_early += sum(not r.match and len(r.output) < length for r in results)
        went_on += sum(not r.match and len(r.output) > length for r in results)
    below = [length for length, value in exact.items() if value < GOAL]
    return {
        "seen_max_length": seen,
        "exact_by_length": exact,
        "lowest": min(exact.values()),
        "held_to": (below[0] - 1) if below else factor * seen,  # longest length up to which every length held
        "stopped_early": stopped_early,
        "went_on": went_on,
    }


def train_and_score(config: Config, out: Path, args: argparse.Namespace) -> dict:
    """Train one model into ``out`` (or, with ``--reuse``, take the one there) and score it."""
    torch.set_num_threads(1)
    checkpoint = out / "model.pt"
    started = time.perf_counter()
    if args.reuse and checkpoint.is_file():
        reverser = Reverser.load(checkpoint)
        history = reverser.checkpoint.history
    else:
        data = load_run_data(config, args.train_file)
        history = Trainer(config, data, out, log=lambda line: None, report_every=10**9).run().history
        reverser = Reverser.load(checkpoint)
    suites = build_suites(reverser.checkpoint, seed=1000 + config.seed, size=300, per_length=30)
    stress = run_stress(reverser, suites)["suites"]
    row = {
        "stop": config.stop,
        "seed": config.seed,
        "test_exact_match": reverser.checkpoint.metrics["test"]["exact_match"],
        "stress_lowest": min(v["exact_match"] for name, v in stress.items() if "no copy" not in name),
        "seconds_to_99": time_to(history, 0.99),
        **score_lengths(reverser, args.factor, args.per_length, config.seed),
    }
    print(f"{config.stop} seed {config.seed}: test {row['test_exact_match']:.3f}, "
        f"stress lowest {row['stress_lowest']:.3f}, "
        f"held to {row['held_to']} of {args.factor * row['seen_max_length']} words (lowest {row['lowest']:.2f}), "
        f"t99 {row['seconds_to_99']} s ({time.perf_counter() - started:.0f} s)",
        file=sys.stderr, flush=True)  # fmt: skip
    return row


def summary(runs: list[dict], stops: list[str], factor: int) -> list[dict]:
    """One row per stop setting over its seeds."""
    rows = []
    for stop in stops:
        mine = [r for r in runs if r["stop"] == stop]
        reached = [r["seconds_to_99"] for r in mine if r["seconds_to_99"] is not None]
        rows.append({
            "stop": stop,
            "seeds": len(mine),
            "test_lowest": min(r["test_exact_match"] for r in mine),
            "stress_lowest": min(r["stress_lowest"] for r in mine),
            "length_lowest": min(r["lowest"] for r in mine),
            "held_to_lowest": min(r["held_to"] for r in mine),
            "goal_length": max(r["seen_max_length"] for r in mine) * factor,
            "holds": all(r["lowest"] >= GOAL for r in mine),
            "seconds_to_99_median": statistics.median(reached) if reached else None,
            "reached_99": f"{len(reached)}/{len(mine)}",
            "stopped_early": sum(r["stopped_early"] for r in mine),
            "went_on": sum(r["went_on"] for r in mine),
        })  # fmt: skip
    return rows


def markdown(rows: list[dict], factor: int) -> str:
    lines = [
        f"| stop | seeds | lowest exact match, lengths 1 to {factor}x | every length >= {GOAL} up to (worst seed) "
        "| wrong long decodes: stopped early / went on | test (lowest) | stress (lowest) "
        "| seconds to 99% valid (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t99 = "-" if r["seconds_to_99_median"] is None else f"{r['seconds_to_99_median']:.0f} ({r['reached_99']})"
        lines.append(
            f"| {r['stop']} | {r['seeds']} | {r['length_lowest']:.2f} | {r['held_to_lowest']} of {r['goal_length']} "
            f"| {r['stopped_early']} / {r['went_on']} | {r['test_lowest']:.3f} | {r['stress_lowest']:.3f} | {t99} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", nargs="+", choices=STOP_KINDS, default=list(STOP_KINDS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=Config().epochs, help="the same budget for every model")
    parser.add_argument("--evals-per-epoch", type=int, default=10)
    parser.add_argument("--factor", type=int, default=3, help="score lengths up to this x the longest trained example")
    parser.add_argument("--per-length", type=int, default=50)
    parser.add_argument("--train-file", type=Path, help="a corpus file instead of the built-in generator")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/length_fix_runs"), help="where the models are kept")
    parser.add_argument("--reuse", action="store_true", help="score a model already in --runs instead of retraining")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--jobs", type=int, default=1, help="models trained at once, one process and thread each")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = Config(device="cpu", epochs=args.epochs, evals_per_epoch=args.evals_per_epoch,
                  train_file=args.train_file.name if args.train_file else None)  # fmt: skip
    corpus = args.train_file.stem if args.train_file else "builtin"
    configs = [base.replace(seed=seed, stop=stop) for seed in args.seeds for stop in args.stops]
    folders = [args.runs / f"{corpus}-e{args.epochs}-{c.stop}-seed{c.seed}" for c in configs]
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(pool.map(train_and_score, configs, folders, [args] * len(configs)))
    rows = summary(runs, args.stops, args.factor)
    table = markdown(rows, args.factor)
    print(table)
    result = {"config": base.to_dict(), "factor": args.factor, "per_length": args.per_length, "goal": GOAL,
              "rows": rows, "runs": runs}  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if set(args.stops) == set(STOP_KINDS) and len(args.seeds) >= 3:
        command = "python benchmarks/length_fix.py " + " ".join(sys.argv[1:])
        note = (
            f"{args.jobs} models trained at once on {os.cpu_count()} cores shared with other work: timings under load"
        )
        print(f"written to {store('length_fix', result, table, command, note)}")


if __name__ == "__main__":
    main()
