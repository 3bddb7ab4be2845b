"""Where the stop decision comes from, measured: train the default config once per setting (a ``stop`` of
seq2seq.config STOP_KINDS, alone or with ``+no-query``: ``attention_query="none"`` as well) with the same budget on
several seeds, and score each model on sentences up to three times the longest example it trained on. Run by hand
(minutes per model):

    python benchmarks/length_fix.py                                   # every setting, seeds 0 1 2
    python benchmarks/length_fix.py --stops readout attention --epochs 1 --seeds 0
    python benchmarks/length_fix.py --user-corpus --stops readout attention attention+no-query
    python benchmarks/length_fix.py --train-file corpus.txt          # a corpus file of your own

For each model: exact match at every length from 1 to ``--factor`` times the longest example trained on (joined
pairs included), ``--per-length`` sentences each, made as ``benchmarks/length_limit.py`` makes them (test sentences
joined and cut to length); test exact match; the lowest exact match over the stress suites; the training seconds to
99% valid exact match (in seconds, and in updates, which do not depend on how busy the machine was), both against
the readout's (the default's) in the same run; and how many of the
wrong long decodes stopped early. A run with the readout among its settings on three seeds or more stores its figures
(``benchmarks/stored.py``): on the built-in corpus in ``benchmarks/results/length_fix.json`` and ``.md``, on
``--user-corpus`` (the corpus file of ``benchmarks/user_corpus.py``, trained on as ``--train-file`` does) in
``length_fix_user_corpus``; ``docs/model.md`` quotes them and ``tests/docs/test_docs_figures.py`` checks them.
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
from benchmarks.user_corpus import write_user_corpus  # noqa: E402
from seq2seq.config import STOP_KINDS, Config  # noqa: E402
from seq2seq.data import load_run_data  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.run_folder import Trainer  # noqa: E402
from seq2seq.stress import build_suites, run_stress, trained_lengths  # noqa: E402

GOAL = 0.99  # exact match every length must reach
NO_QUERY = "+no-query"  # a setting's suffix: the attention has no query term (Config.attention_query "none")
SETTINGS = [*STOP_KINDS, *(stop + NO_QUERY for stop in STOP_KINDS)]


def setting_config(base: Config, setting: str) -> Config:
    """The config a setting names: ``"attention"`` -> stop attention; ``"attention+no-query"`` -> also no query."""
    stop = setting.removesuffix(NO_QUERY)
    return base.replace(stop=stop, attention_query="none" if setting.endswith(NO_QUERY) else base.attention_query)


def setting_of(config: Config) -> str:
    return config.stop + (NO_QUERY if config.attention_query == "none" else "")


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
        "setting": setting_of(config),
        "stop": config.stop,
        "attention_query": config.attention_query,
        "seed": config.seed,
        "test_exact_match": reverser.checkpoint.metrics["test"]["exact_match"],
        "stress_lowest": min(v["exact_match"] for name, v in stress.items() if "no copy" not in name),
        "seconds_to_99": time_to(history, GOAL),
        "updates_to_99": next((row["step"] for row in history if row["valid_exact_match"] >= GOAL), None),
        **score_lengths(reverser, args.factor, args.per_length, config.seed),
    }
    print(f"{row['setting']} seed {config.seed}: test {row['test_exact_match']:.3f}, "
        f"stress lowest {row['stress_lowest']:.3f}, "
        f"held to {row['held_to']} of {args.factor * row['seen_max_length']} words (lowest {row['lowest']:.2f}), "
        f"t99 {row['seconds_to_99']} s ({time.perf_counter() - started:.0f} s)",
        file=sys.stderr, flush=True)  # fmt: skip
    return row


def median_to_99(runs: list[dict], key: str) -> float | None:
    """The median over ``runs`` of ``key`` (``seconds_to_99`` or ``updates_to_99``), of those that got there."""
    reached = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(reached) if reached else None


def ratio(value: float | None, to: float | None) -> float | None:
    return None if value is None or not to else value / to


def summary(runs: list[dict], settings: list[str], factor: int) -> list[dict]:
    """One row per setting over its seeds; its median seconds and updates to 99% valid against the readout's (the
    default's), when both ran. Updates do not depend on how busy the machine was; seconds do."""
    readout = [r for r in runs if r["setting"] == "readout"]
    readout_seconds, readout_updates = median_to_99(readout, "seconds_to_99"), median_to_99(readout, "updates_to_99")
    rows = []
    for setting in settings:
        mine = [r for r in runs if r["setting"] == setting]
        reached = [r["seconds_to_99"] for r in mine if r["seconds_to_99"] is not None]
        seconds, updates = median_to_99(mine, "seconds_to_99"), median_to_99(mine, "updates_to_99")
        rows.append({
            "setting": setting,
            "stop": mine[0]["stop"],
            "attention_query": mine[0]["attention_query"],
            "seeds": len(mine),
            "test_lowest": min(r["test_exact_match"] for r in mine),
            "stress_lowest": min(r["stress_lowest"] for r in mine),
            "length_lowest": min(r["lowest"] for r in mine),
            "held_to_lowest": min(r["held_to"] for r in mine),
            "goal_length": max(r["seen_max_length"] for r in mine) * factor,
            "holds": all(r["lowest"] >= GOAL for r in mine),
            "seconds_to_99_median": seconds,
            "reached_99": f"{len(reached)}/{len(mine)}",
            "seconds_to_99_vs_readout": ratio(seconds, readout_seconds),
            "updates_to_99_median": updates,
            "updates_to_99_vs_readout": ratio(updates, readout_updates),
            "stopped_early": sum(r["stopped_early"] for r in mine),
            "went_on": sum(r["went_on"] for r in mine),
        })  # fmt: skip
    return rows


def markdown(rows: list[dict], factor: int) -> str:
    lines = [
        f"| stop | attention query | seeds | lowest exact match, lengths 1 to {factor}x "
        f"| every length >= {GOAL} up to (worst seed) | wrong long decodes: stopped early / went on | test (lowest) "
        "| stress (lowest) | seconds to 99% valid (median) | updates to 99% valid (median) "
        "| against the readout's: seconds / updates |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def times(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    for r in rows:
        t99 = "-" if r["seconds_to_99_median"] is None else f"{r['seconds_to_99_median']:.0f} ({r['reached_99']})"
        u99 = "-" if r["updates_to_99_median"] is None else f"{r['updates_to_99_median']:.0f}"
        lines.append(
            f"| {r['stop']} | {r['attention_query']} | {r['seeds']} | {r['length_lowest']:.2f} "
            f"| {r['held_to_lowest']} of {r['goal_length']} | {r['stopped_early']} / {r['went_on']} "
            f"| {r['test_lowest']:.3f} | {r['stress_lowest']:.3f} | {t99} | {u99} "
            f"| {times(r['seconds_to_99_vs_readout'])} / {times(r['updates_to_99_vs_readout'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", nargs="+", choices=SETTINGS, default=[*STOP_KINDS, "attention" + NO_QUERY],
                        help=f"stop settings; {NO_QUERY} also drops the attention's query term")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=Config().epochs, help="the same budget for every model")
    parser.add_argument("--evals-per-epoch", type=int, default=10)
    parser.add_argument("--factor", type=int, default=3, help="score lengths up to this x the longest trained example")
    parser.add_argument("--per-length", type=int, default=50)
    corpus = parser.add_mutually_exclusive_group()
    corpus.add_argument("--train-file", type=Path, help="a corpus file instead of the built-in generator")
    corpus.add_argument("--user-corpus", action="store_true", help="the corpus file of benchmarks/user_corpus.py")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/length_fix_runs"), help="where the models are kept")
    parser.add_argument("--reuse", action="store_true", help="score a model already in --runs instead of retraining")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--jobs", type=int, default=1, help="models trained at once, one process and thread each")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.user_corpus:
        args.runs.mkdir(parents=True, exist_ok=True)
        args.train_file = write_user_corpus(args.runs)[0]
    base = Config(device="cpu", epochs=args.epochs, evals_per_epoch=args.evals_per_epoch,
                  train_file=args.train_file.name if args.train_file else None)  # fmt: skip
    corpus = args.train_file.stem if args.train_file else "builtin"
    configs = [setting_config(base.replace(seed=seed), setting) for seed in args.seeds for setting in args.stops]
    folders = [args.runs / f"{corpus}-e{args.epochs}-{setting_of(c)}-seed{c.seed}" for c in configs]
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(pool.map(train_and_score, configs, folders, [args] * len(configs)))
    rows = summary(runs, args.stops, args.factor)
    table = markdown(rows, args.factor)
    print(table)
    result = {"config": base.to_dict(), "factor": args.factor, "per_length": args.per_length, "goal": GOAL,
              "rows": rows, "runs": runs}  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    stored_as = "length_fix_user_corpus" if args.user_corpus else None if args.train_file else "length_fix"
    if stored_as and "readout" in args.stops and len(args.seeds) >= 3:
        command = "python benchmarks/length_fix.py " + " ".join(sys.argv[1:])
        note = (
            f"{args.jobs} models trained at once on {os.cpu_count()} cores shared with other work: timings under load"
        )
        print(f"written to {store(stored_as, result, table, command, note)}")


if __name__ == "__main__":
    main()
