"""Speed and memory of training and inference, run by hand (not in CI). Prints a Markdown report.

    python benchmarks/speed.py                 # everything: three seeds per corpus, a few minutes
    python benchmarks/speed.py --seeds 1       # quicker
    python benchmarks/speed.py --skip-training # the optimizer and inference timings only

The training table goes to ``benchmarks/results/speed-training.json`` and ``.md``, the optimizer and inference
timings to ``speed-steps.json`` and ``.md`` (see ``benchmarks/stored.py``); ``docs/speed.md`` quotes them.

Training: time (``train_seconds``, validation excluded) to reach 90/95/99% valid exact match on the built-in corpus
and on a 20k-sentence corpus file of 3-15 words, median over seeds, with target tokens per second and the peak
resident memory of the training process. Each run is its own subprocess, so one run's memory is not another's.
Optimizer: the manual Adam against torch.optim.Adam on the same model and gradients. Inference: one 10-word sentence,
and batched greedy decoding of 1,000 test sentences, after load.
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.stored import store  # noqa: E402
from seq2seq.config import Config  # noqa: E402
from seq2seq.corpus import generate_corpus  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.optim import Adam  # noqa: E402

TARGETS = (0.90, 0.95, 0.99)

_CHILD = """
import json, resource, sys, torch
sys.path.insert(0, {root!r})
from seq2seq.config import Config
from seq2seq.data import load_run_data
from seq2seq.run_folder import Trainer
config = Config.from_dict(json.loads({config!r}))
data = load_run_data(config, {train_file!r})
trainer = Trainer(config, data, {out!r}, log=lambda line: None)
result = trainer.run()
print(json.dumps({{"tokens": result.tokens_seen, "train_seconds": result.history[-1]["train_seconds"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "stop": result.stop_reason}}))
"""


def train_once(config: Config, train_file: str | None, out: Path) -> dict:
    code = _CHILD.format(root=str(ROOT), config=json.dumps(config.to_dict()), train_file=train_file, out=str(out))
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    summary = json.loads(process.stdout.strip().splitlines()[-1])
    with open(out / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for target in TARGETS:
        reached = [float(r["train_seconds"]) for r in rows if float(r["valid_exact_match"]) >= target]
        summary[f"t{round(target * 100)}"] = reached[0] if reached else None
    summary["final_exact_match"] = float(rows[-1]["valid_exact_match"])
    return summary


def median_or_none(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def training_rows(config: Config, seeds: int, workdir: Path) -> tuple[list[str], dict[str, list[dict]]]:
    """The table's rows, and every run's summary per corpus."""
    corpus = workdir / "corpus-20k.txt"
    sentences = generate_corpus(22_000, 3, 15, 0.25, seed=99)
    corpus.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    rows, every_run = [], {}
    for name, train_file in (("built-in generator", None), ("20k corpus file, 3-15 words", str(corpus))):
        runs = []
        for seed in range(seeds):
            run_config = config.replace(seed=seed, train_file=Path(train_file).name if train_file else None)
            runs.append(train_once(run_config, train_file, workdir / f"{name[:5]}-{seed}"))
            print(f"  {name}, seed {seed}: {runs[-1]}", file=sys.stderr)
        cells = [name]
        for target in TARGETS:
            times = [r[f"t{round(target * 100)}"] for r in runs]
            value = median_or_none(times)
            missed = sum(t is None for t in times)
            cells.append(
                "not reached" if value is None else f"{value:.1f} s" + (f" ({missed} missed)" if missed else "")
            )
        cells.append(f"{statistics.median(r['tokens'] / r['train_seconds'] for r in runs):,.0f}")
        cells.append(f"{max(r['peak_rss_mb'] for r in runs):.0f} MB")
        cells.append(", ".join(f"{r['final_exact_match']:.3f}" for r in runs))
        rows.append("| " + " | ".join(cells) + " |")
        every_run[name] = runs
    return rows, every_run


def optimizer_ratio(params: list[torch.Tensor], steps: int, repeats: int = 7) -> tuple[float, float]:
    """Median µs per step of the manual Adam and of torch.optim.Adam on ``params`` (random gradients), interleaved."""
    for p in params:
        p.grad = torch.randn_like(p)
    timings: dict[str, list[float]] = {"manual": [], "torch": []}
    for _ in range(repeats):
        for name, optimizer in (("manual", Adam(params, lr=1e-4)), ("torch", torch.optim.Adam(params, lr=1e-4))):
            optimizer.step()  # the state is created on the first step
            start = time.perf_counter()
            for _ in range(steps):
                optimizer.step()
            timings[name].append((time.perf_counter() - start) / steps * 1e6)
    return statistics.median(timings["manual"]), statistics.median(timings["torch"])


def optimizer_cases(config: Config) -> list[tuple[str, list[torch.Tensor], int]]:
    """Our model (many small tensors) and 8 x Linear(512, 512) (a few large ones): (name, parameters, steps)."""
    from seq2seq.model import Seq2Seq

    large = torch.nn.Sequential(*[torch.nn.Linear(512, 512) for _ in range(8)])
    return [
        ("our model", list(Seq2Seq(400, config).parameters()), 200),
        ("8 x Linear(512, 512)", list(large.parameters()), 20),
    ]


def inference_times(checkpoint: Path, repeats: int = 200) -> tuple[float, float]:
    torch.set_num_threads(1)  # as the command line and the app decode
    reverser = Reverser.load(checkpoint)
    sentence = "the big dog saw a small cat near the river"  # 10 words
    reverser.reverse(sentence)
    single = []
    for _ in range(repeats):
        start = time.perf_counter()
        reverser.reverse(sentence)
        single.append((time.perf_counter() - start) * 1e3)
    test = reverser.checkpoint.test_sentences[:1000]
    batched = []
    for _ in range(7):
        start = time.perf_counter()
        reverser.reverse_tokens(test, batch_size=1000)
        batched.append(time.perf_counter() - start)
    return statistics.median(single), statistics.median(batched)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "artifacts" / "model.pt")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    config = Config(target_accuracy=0.99, evals_per_epoch=8, device="cpu")
    print(f"torch {torch.__version__}, intra-op threads: {torch.get_num_threads()}")
    print(f"config: {json.dumps(config.to_dict())}", end="\n\n")
    command = "python benchmarks/speed.py " + " ".join(sys.argv[1:])
    if not args.skip_training:
        header = "| corpus | to 90% | to 95% | to 99% | target tokens/s | peak memory | final valid exact match |"
        with tempfile.TemporaryDirectory() as workdir:
            rows, runs = training_rows(config, args.seeds, Path(workdir))
        table = "\n".join([header, "|---|---|---|---|---|---|---|", *rows])
        print(table)
        print(f"\n(median of {args.seeds} seeds; times are train_seconds, validation excluded)\n")
        cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
        data = {"seeds": args.seeds, "threads": torch.get_num_threads(), "config": config.to_dict(), "runs": runs,
                "rows": cells}  # fmt: skip
        print(f"written to {store('speed-training', data, table, command)}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    lines, data = [], {"adam": []}
    for name, params, steps in optimizer_cases(config):
        manual, reference = optimizer_ratio(params, steps)
        lines.append(
            f"Adam step, {name}, one thread: manual {manual:.0f} µs, torch.optim.Adam {reference:.0f} µs "
            f"(ratio {manual / reference:.2f})"
        )
        data["adam"].append({"model": name, "manual_us": manual, "torch_us": reference})
    torch.set_num_threads(threads)
    if args.checkpoint.is_file():
        single, batched = inference_times(args.checkpoint)
        lines.append(
            f"Inference ({args.checkpoint.name}): one 10-word sentence {single:.2f} ms median; "
            f"1,000 test sentences batched {batched:.3f} s median"
        )
        data.update(inference_single_ms=single, inference_1000_s=batched, checkpoint=str(args.checkpoint))
    print("\n".join(lines))
    print(f"written to {store('speed-steps', data, chr(10).join(lines), command)}")


if __name__ == "__main__":
    main()
