"""Ablation: train the default model and variants that each remove one idea, with several seeds, and compare them
on the test split and every stress suite. Run by hand (a few minutes per seed); a test runs it with ``--tiny``.

    python benchmarks/ablation.py                      # 3 seeds, writes artifacts/ablation.json
    python benchmarks/ablation.py --tiny --out /tmp/a.json

A full run (not ``--tiny``) also stores the table and every seed's scores in ``benchmarks/results/ablation.json``
and ``.md`` (``benchmarks/stored.py``), which ``docs/`` quotes.

Every variant is the default config with one idea removed, trained for the same number of epochs (1 by default, in
which the default model passes 99% valid exact match): an equal budget, not each variant's best. "no <unk> copy" is
the default model itself, decoded without the copy step.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from seq2seq.analysis import BASELINE_VARIANT, MEAN_VARIANT  # noqa: E402
from seq2seq.app.views import ablation_table  # noqa: E402
from seq2seq.config import Config  # noqa: E402
from seq2seq.data import load_run_data  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.fileio import atomic_write_text  # noqa: E402
from seq2seq.run_folder import Trainer  # noqa: E402
from seq2seq.stress import build_suites, run_stress  # noqa: E402

VARIANTS: dict[str, dict] = {
    "default": {},
    "paper's attention (no location term)": {"attention": "additive"},
    BASELINE_VARIANT: {"attention": "encdec"},
    MEAN_VARIANT: {"attention": "none"},
    "no padding mask": {"mask_padding": False},
    "unidirectional encoder": {"bidirectional": False},
    "query s_i, not s_(i-1)": {"attention_query": "current"},
    "teacher forcing 0": {"teacher_forcing": 0.0},
    "teacher forcing 0.5": {"teacher_forcing": 0.5},
    "no gradient clipping": {"clip": None},
}
NO_COPY = "no <unk> copy"
COLUMNS = ["normal", "random order", "repeated words", "unknown words", "one-two words", "long (1.3x)"]


def time_to(history: list[dict], target: float) -> float | None:
    return next((row["train_seconds"] for row in history if row["valid_exact_match"] >= target), None)


def scores(reverser: Reverser, suites) -> dict[str, float]:
    results = run_stress(reverser, suites)
    out = {name: results["suites"][name]["exact_match"] for name in COLUMNS[:-1]}
    long_length = str(round(1.3 * suites.seen_max_length))
    out["long (1.3x)"] = results["per_length"].get(long_length, {}).get("exact_match")
    return out


def run(config: Config, seeds: int, suite_size: int, log, only: list[str] | None = None) -> dict:
    variants = {name: changes for name, changes in VARIANTS.items() if not only or name in only}
    rows: dict[str, list[dict]] = {name: [] for name in [*variants, *([NO_COPY] if "default" in variants else [])]}
    with tempfile.TemporaryDirectory() as workdir:
        for seed in range(seeds):
            data = load_run_data(config.replace(seed=seed))
            for index, (name, changes) in enumerate(variants.items()):
                variant = config.replace(seed=seed, **changes)
                out = Path(workdir) / f"seed{seed}-variant{index}"
                started = time.perf_counter()
                result = Trainer(variant, data, out, log=lambda line: None).run()
                reverser = Reverser.load(result.checkpoint_path)
                suites = build_suites(
                    reverser.checkpoint, seed=1000 + seed, size=suite_size, per_length=suite_size // 10
                )
                row = {**scores(reverser, suites), "t99": time_to(result.history, 0.99)}
                rows[name].append(row)
                if name == "default":
                    rows[NO_COPY].append({**scores(reverser.with_copy(False), suites), "t99": row["t99"]})
                log(f"seed {seed} {name}: {row} ({time.perf_counter() - started:.0f} s)")
    table = []
    for name, runs in rows.items():
        summary = {"variant": name}
        for column in [*COLUMNS, "t99"]:
            values = [r[column] for r in runs if r[column] is not None]
            summary[f"{column}_mean"] = statistics.mean(values) if values else None
            summary[f"{column}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0 if values else None
            if column == "t99":
                summary["t99_reached"] = f"{len(values)}/{len(runs)}"
        summary["test_mean"] = summary["normal_mean"]
        table.append(summary)
    return {"seeds": seeds, "config": config.to_dict(), "rows": table, "runs": rows}


def merged(ablation: dict, path: Path) -> dict:
    """The rows of an ``--only`` run put into the ablation already in ``path`` (same seeds and config), in the order
    of ``VARIANTS``."""
    previous = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not previous or previous.get("seeds") != ablation["seeds"] or previous.get("config") != ablation["config"]:
        sys.exit(f"{path} does not hold an ablation with the same seeds and config to add the rows to")
    rows = {row["variant"]: row for row in previous["rows"]} | {row["variant"]: row for row in ablation["rows"]}
    order = [*VARIANTS, NO_COPY]
    return {**previous, "rows": sorted(rows.values(), key=lambda r: order.index(r["variant"]) if r["variant"] in
                                       order else len(order))}  # fmt: skip


def markdown(ablation: dict) -> str:
    """The table ``docs/paper.md`` quotes; the Analysis page shows the same cells."""
    table = ablation_table(ablation)
    lines = ["| " + " | ".join(table[0]) + " |", "|---" * len(table[0]) + "|"]
    lines += ["| " + " | ".join(row.values()) + " |" for row in table]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "ablation.json")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per training run (default: 1)")
    parser.add_argument(
        "--only", action="append", choices=list(VARIANTS),
        help="train only this variant (repeatable) and put its row into the existing --out file, which must hold "
        "the same seeds and config",
    )  # fmt: skip
    parser.add_argument("--tiny", action="store_true", help="a few seconds: a tiny model on a tiny corpus, one seed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = Config(device="cpu", evals_per_epoch=4, epochs=args.epochs)
    suite_size = 300
    if args.tiny:
        config = Config(
            embedding_size=8,
            hidden_size=16,
            attention_size=8,
            corpus_size=300,
            min_length=1,
            max_length=4,
            valid_size=30,
            test_size=30,
            epochs=1,
            batch_size=32,
            device="cpu",
            unk_rate=config.unk_rate,
        )
        args.seeds, suite_size = 1, 20
    ablation = run(config, args.seeds, suite_size, log=lambda line: print(line, file=sys.stderr), only=args.only)
    if args.only:
        ablation = merged(ablation, args.out)
    atomic_write_text(args.out, json.dumps(ablation, indent=2) + "\n")
    print(markdown(ablation))
    print(f"\nwritten to {args.out}")
    if not args.tiny:
        command = "python benchmarks/ablation.py " + " ".join(sys.argv[1:])
        print(f"written to {store('ablation', ablation, markdown(ablation), command)}")


if __name__ == "__main__":
    main()
