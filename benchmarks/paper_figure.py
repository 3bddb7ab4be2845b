"""Figure 2 of Bahdanau et al. (2014), on reversal: exact match against source length for the RNN Encoder-Decoder
(no attention), the 2014 additive attention, the location-aware attention and the same without a query and with the
stop read from the attention (seq2seq.paper_figure FIGURE_CONFIGS), each trained on sentences up to a short and a long
cap (the paper's -30 and -50), with several seeds. Run by hand; a test runs it with ``--tiny``.

    python benchmarks/paper_figure.py                   # writes artifacts/paper_figure.json and .png
    python benchmarks/paper_figure.py --tiny --out /tmp/fig.json

Every model gets the same number of updates (the same corpus size, epochs and batch size), as the paper gave its
models equal training. Training is the paper's setting, not the shipped models' recipe: sentences from the built-in
generator up to the cap and nothing longer (no joined pairs, no extra random sequences, no ``<unk>`` drops). Each
model is scored on fresh sentences (another seed of the same generator, words from the model's vocabulary) at every
length from 1 to twice the long cap. The JSON is rewritten after every model, so a run that is stopped keeps what it
finished, and running the same command again picks up where it stopped.
"""

import argparse
import contextlib
import json
import multiprocessing
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seq2seq.config import Config  # noqa: E402
from seq2seq.data import load_run_data  # noqa: E402
from seq2seq.decoding import Reverser  # noqa: E402
from seq2seq.failures import failure_counts  # noqa: E402
from seq2seq.fileio import atomic_write_text  # noqa: E402
from seq2seq.grammar import SentenceGrammar  # noqa: E402
from seq2seq.metrics import token_matches  # noqa: E402
from seq2seq.paper_figure import (  # noqa: E402
    FIGURE_CONFIGS,
    FIGURE_KINDS,
    PaperFigure,
    PaperRun,
    check_paper_figure,
    findings,
    series,
)
from seq2seq.plots import paper_figure, write_paper_figure_png  # noqa: E402
from seq2seq.run_folder import Trainer  # noqa: E402


def fresh_sentences(length: int, count: int, known: set[str], rng: random.Random) -> list[list[str]]:
    """``count`` sentences of exactly ``length`` words, all in the model's vocabulary: grammatical where the grammar
    makes one of that length, a random word sequence otherwise (a quarter of them, as in the training corpus)."""
    grammar = SentenceGrammar(rng)
    out: list[list[str]] = []
    while len(out) < count:
        words = None if rng.random() < 0.25 else grammar.of_length(length)
        words = words or grammar.random_sequence(length)
        if all(w in known for w in words):
            out.append(words)
    return out


def score(reverser: Reverser, longest: int, per_length: int, seed: int) -> tuple[dict, dict, dict]:
    """Exact match, token accuracy and the wrong decodes per failure label at every length from 1 to ``longest``."""
    rng = random.Random(10_000 + seed)
    known = set(reverser.vocab.words)
    aligns = reverser.model.decoder.attention.aligns
    exact, token, failures = {}, {}, {}
    for length in range(1, longest + 1):
        results = reverser.reverse_tokens(fresh_sentences(length, per_length, known, rng))
        exact[str(length)] = round(sum(r.match for r in results) / len(results), 4)
        hits = [token_matches(r.output, r.reference) for r in results]
        token[str(length)] = round(sum(h for h, _ in hits) / sum(n for _, n in hits), 4)
        failures[str(length)] = {"total": len(results), "failures": failure_counts(results, aligns)}
    return exact, token, failures


def train_and_score(base: Config, kind: str, cap: int, seed: int, longest: int, per_length: int) -> PaperRun:
    torch.set_num_threads(1)
    config = base.replace(**FIGURE_CONFIGS[kind], max_length=cap, seed=seed)
    data = load_run_data(config)
    steps = [0]

    def count(progress) -> None:
        steps[0] = progress.step

    with tempfile.TemporaryDirectory() as workdir:
        result = Trainer(config, data, workdir, callback=count, log=lambda line: None).run()
        reverser = Reverser.load(result.checkpoint_path, copy_unknown=False)
    exact, token, failures = score(reverser, longest, per_length, seed)
    return {
        "attention": kind,
        "max_train_length": cap,
        "seed": seed,
        "updates": steps[0],
        "exact_match_per_length": exact,
        "token_accuracy_per_length": token,
        "failures_per_length": failures,
    }


def train_and_score_args(args: tuple) -> PaperRun:
    return train_and_score(*args)


def summary(data: PaperFigure, short: int, long: int) -> str:
    """Mean exact match per model and cap: within the short cap, between the caps, and past the long cap."""
    lines = ["| model | ≤ short cap | short cap to long cap | past long cap |", "|---|---|---|---|"]
    for line in series(data):
        cells = [line.mean_over(1, short), line.mean_over(short + 1, long), line.mean_over(long + 1, 2 * long)]
        lines.append(f"| {line.label} | " + " | ".join("n/a" if c is None else f"{c:.3f}" for c in cells) + " |")
    lines += ["", "| the paper says | here | holds |", "|---|---|---|"]
    lines += [f"| {f.claim} | {f.measured} | {'yes' if f.holds else 'no'} |" for f in findings(data)]
    return "\n".join(lines)


def same_settings(previous: dict | None, settings: dict) -> bool:
    """Whether a file's settings are ``settings``, its config read as a Config (a field added since it was written
    takes its default, as in an old checkpoint)."""
    if not isinstance(previous, dict) or not isinstance(previous.get("config"), dict):
        return False
    try:
        config = Config.from_dict(previous["config"]).to_dict()
    except (TypeError, ValueError):
        return False
    return {**previous, "config": config} == settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "paper_figure.json")
    parser.add_argument("--caps", type=int, nargs=2, default=(10, 20), help="short and long length caps")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--corpus-size", type=int, default=9_600, help="training sentences per model")
    parser.add_argument("--epochs", type=int, default=4, help="updates = epochs x corpus size / batch size")
    parser.add_argument("--per-length", type=int, default=50, help="fresh test sentences per length")
    parser.add_argument("--jobs", type=int, default=2, help="models trained at once, one process each (default: 2)")
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming an unfinished file")
    parser.add_argument("--tiny", action="store_true", help="a few seconds: a tiny model on a tiny corpus, one seed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    short, long = sorted(args.caps)
    base = Config(
        min_length=1, corpus_size=args.corpus_size, valid_size=200, test_size=200, epochs=args.epochs,
        join_share=0.0, random_extra_share=0.0, unk_rate=0.0, evals_per_epoch=1, device="cpu",
    )  # fmt: skip
    if args.tiny:
        short, long, args.seeds, args.per_length, args.jobs = 3, 5, 1, 5, 1
        base = base.replace(embedding_size=8, hidden_size=16, attention_size=8, corpus_size=256, valid_size=20,
                            test_size=20, epochs=1, batch_size=32)  # fmt: skip
    updates = base.epochs * -(-base.corpus_size // base.batch_size)
    command = shlex.join(["python", "benchmarks/paper_figure.py", *sys.argv[1:]])
    settings = {"caps": [short, long], "seeds": args.seeds, "per_length": args.per_length, "config": base.to_dict()}
    data: PaperFigure = {"runs": [], "command": command, "updates": updates}
    if args.out.is_file() and not args.fresh:
        previous = check_paper_figure(json.loads(args.out.read_text(encoding="utf-8")))
        if same_settings(previous.get("settings"), settings):  # the same experiment: keep the models it finished
            data["runs"] = previous["runs"]
    data["settings"] = settings
    done = {(r["attention"], r["max_train_length"], r["seed"]) for r in data["runs"]}
    todo = [(base, kind, cap, seed, 2 * long, args.per_length) for seed in range(args.seeds) for cap in (short, long)
            for kind in FIGURE_KINDS if (kind, cap, seed) not in done]  # fmt: skip
    started = time.perf_counter()
    # One process per model (each on one thread), ``--jobs`` at a time, or all in this process with ``--jobs 1``; the
    # file is rewritten as each one finishes.
    with contextlib.ExitStack() as stack:
        if args.jobs > 1:
            pool = stack.enter_context(multiprocessing.get_context("spawn").Pool(args.jobs, maxtasksperchild=1))
            finished = pool.imap_unordered(train_and_score_args, todo)
        else:
            finished = map(train_and_score_args, todo)
        for run in finished:
            data["runs"].append(run)
            atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
            exact, cap = run["exact_match_per_length"], run["max_train_length"]
            print(
                f"{run['attention']} cap {cap} seed {run['seed']}: {run['updates']} updates, exact match at "
                f"1/{cap}/{2 * long} words {exact['1']}/{exact[str(cap)]}/{exact[str(2 * long)]} "
                f"({time.perf_counter() - started:.0f} s since start)",
                file=sys.stderr,
                flush=True,
            )
    atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    engine = write_paper_figure_png(args.out.with_suffix(".png"), data)
    # The interactive chart, as the app draws it, for a browser (plotly.js from its CDN keeps the file small).
    atomic_write_text(args.out.with_suffix(".html"), paper_figure(data).to_html(include_plotlyjs="cdn"))
    print(summary(data, short, long))
    print(f"\nwritten to {args.out}, its .png ({engine}) and its .html")


if __name__ == "__main__":
    main()
