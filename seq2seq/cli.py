"""The command line: ``python -m seq2seq {train,evaluate,reverse,info,stress,report} ...``.

Every error a user can cause (a missing or foreign checkpoint, an empty sentence, a bad corpus file, a setting out of
range) prints one line on stderr and exits with status 2; nothing prints a traceback for them.
"""

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_checkpoint
from .config import Config
from .corpus import read_corpus_file
from .data import load_run_data
from .fileio import write_json
from .inference import Reverser
from .metrics import format_example
from .paths import default_checkpoint_path
from .report import evaluate_sentences, pick_examples
from .tokenize import InputError, checked_tokens

# Command-line flags of `train` that set the Config field of the same name (dashes for underscores), with their help.
TRAIN_FLAGS = {
    "epochs": "passes over the training set",
    "batch_size": "sentences per batch",
    "lr": "peak learning rate of the manual Adam",
    "lr_schedule": "linear (decays to 0 over the run) or constant",
    "weight_decay": "L2 weight decay, as torch.optim.Adam's",
    "clip": "max-norm gradient clipping",
    "teacher_forcing": "probability that a decoder step reads the reference word",
    "hidden_size": "GRU state size",
    "embedding_size": "word embedding size",
    "attention_size": "attention layer size",
    "attention": "location (default), additive (the 2014 paper's exactly), encdec (the paper's baseline: no "
    "attention, the encoder's last state as context) or none (the annotations' mean as context)",
    "seed": "seeds the corpus, the splits, the weights and the batches",
    "device": "auto, cpu, cuda or mps",
    "target_accuracy": "stop once valid exact match reaches this",
    "max_seconds": "stop after this many seconds of training",
    "evals_per_epoch": "validations per epoch (each adds a history row and an attention snapshot)",
    "corpus_size": "built-in corpus: training sentences",
    "min_length": "built-in corpus: shortest sentence",
    "max_length": "built-in corpus: longest sentence",
    "random_share": "built-in corpus: share of random word sequences",
    "valid_size": "validation sentences",
    "test_size": "test sentences",
    "join_share": "augmentation: share of joined sentence pairs added per epoch",
    "random_extra_share": "augmentation: share of random word sequences added per epoch",
    "unk_rate": "augmentation: rate at which source words are dropped to <unk>",
}


class UsageError(Exception):
    """A user error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seq2seq", description="Bahdanau-attention seq2seq that reverses word order."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model (built-in corpus unless files are given)")
    train.add_argument("--train-file", type=Path)
    train.add_argument("--valid-file", type=Path)
    train.add_argument("--test-file", type=Path)
    train.add_argument("--out", type=Path, default=Path("runs/latest"), help="run folder (default: runs/latest)")
    defaults = Config()
    for name, help_text in TRAIN_FLAGS.items():
        default = getattr(defaults, name)
        kind = float if default is None else type(default)
        train.add_argument(
            f"--{name.replace('_', '-')}", type=kind, default=default, help=f"{help_text} (default: {default})"
        )

    evaluate = commands.add_parser("evaluate", help="exact match on a test set, with examples")
    _checkpoint_flag(evaluate)
    evaluate.add_argument("--test-file", type=Path, help="default: the test split the model was trained with")
    evaluate.add_argument("--examples", type=int, default=10)
    evaluate.add_argument("--heatmap", type=Path, help="write the attention heatmap of one example to this PNG")
    evaluate.add_argument("--json", type=Path, help="write the metrics as JSON to this file")
    evaluate.add_argument("--no-copy", action="store_true", help="leave <unk> in the output (the plain model)")

    reverse = commands.add_parser("reverse", help="reverse sentences given as arguments or lines on stdin")
    _checkpoint_flag(reverse)
    reverse.add_argument("sentence", nargs="*")
    reverse.add_argument("--json", action="store_true", help="print tokens, output and attention as JSON")
    reverse.add_argument("--no-copy", action="store_true", help="leave <unk> in the output (the plain model)")

    info = commands.add_parser("info", help="what a checkpoint holds")
    _checkpoint_flag(info)
    info.add_argument("--json", action="store_true")

    stress = commands.add_parser("stress", help="exact match on unknown-word, long, repeated, random and short suites")
    _checkpoint_flag(stress)
    stress.add_argument("--seed", type=int, default=1234)
    stress.add_argument("--json", type=Path, help="write the results as JSON to this file")

    report = commands.add_parser("report", help="write metrics.json, examples.md, attention_heatmap.png, ANALYSIS.md")
    _checkpoint_flag(report)
    report.add_argument("--out", type=Path, help="default: the checkpoint's folder")
    report.add_argument("--examples", type=int, default=12)
    return parser


def _checkpoint_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=default_checkpoint_path(),
        help="default: artifacts/model.pt, or the file SEQ2SEQ_CHECKPOINT names",
    )
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])


def cmd_train(args: argparse.Namespace) -> int:
    from .train import Trainer

    config = Config(
        **{name: getattr(args, name) for name in TRAIN_FLAGS},
        train_file=args.train_file.name if args.train_file else None,
    )
    data = load_run_data(config, args.train_file, args.valid_file, args.test_file)
    for name, report in data.reports.items():
        print(f"{name}: {report.summary()}")
    splits = data.splits
    print(
        f"data: {len(splits.train):,} train / {len(splits.valid):,} valid / {len(splits.test):,} test sentences, "
        f"vocabulary {len(data.vocab):,}"
    )
    trainer = Trainer(config, data, args.out)

    def interrupt(signum, frame) -> None:
        print("\ninterrupted: stopping after this batch (Ctrl-C again to abort at once)", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        trainer.stop()

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        result = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"best model: {result.checkpoint_path}")
    print(f"history: {args.out / 'history.csv'}")
    return 1 if result.stop_reason == "diverged" else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    reverser = Reverser.load(args.checkpoint, args.device, copy_unknown=not args.no_copy)
    sentences = read_corpus_file(args.test_file)[0] if args.test_file else reverser.checkpoint.test_sentences
    if not sentences:
        raise UsageError(f"{args.checkpoint} holds no test split; pass --test-file")
    report = evaluate_sentences(reverser, sentences)
    for example in pick_examples(report.results, args.examples):
        print(format_example(example), end="\n\n")
    print(report.evaluation.summary())
    print(f"token accuracy: {report.evaluation.token_accuracy:.4f}")
    if args.heatmap:
        example = report.results[0]
        from .plots import write_heatmap_png

        engine = write_heatmap_png(args.heatmap, example.tokens, example.output, example.attention)
        print(f"heatmap: {args.heatmap} (drawn with {engine})")
    if args.json:
        write_json(args.json, report.evaluation.to_dict())
        print(f"metrics: {args.json}")
    return 0


def cmd_reverse(args: argparse.Namespace) -> int:
    reverser = Reverser.load(args.checkpoint, args.device, copy_unknown=not args.no_copy)
    lines = args.sentence if args.sentence else [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not lines:
        raise InputError("no sentence given: pass one as an argument or as lines on stdin")
    results = reverser.reverse_tokens([checked_tokens(line) for line in lines])
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "input": line,
                        "tokens": r.tokens,
                        "unknown": [t for t, k in zip(r.tokens, r.known, strict=True) if not k],
                        "output": " ".join(r.output),
                        "output_tokens": r.output,
                        "copied": r.copied,
                        "reference": " ".join(r.reference),
                        "match": r.match,
                        "attention": r.attention,
                    }
                    for line, r in zip(lines, results, strict=True)
                ],
                indent=2,
            )
        )
    else:
        for r in results:
            print(" ".join(r.output))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    checkpoint = load_checkpoint(args.checkpoint)
    n_params = sum(t.numel() for t in checkpoint.state_dict.values())
    info = {
        "checkpoint": str(args.checkpoint),
        "config": checkpoint.config.to_dict(),
        "parameters": n_params,
        "vocabulary_size": len(checkpoint.vocab),
        "data": checkpoint.metrics.get("data", {}),
        "epochs_run": checkpoint.history[-1]["epoch"] if checkpoint.history else 0,
        "metrics": checkpoint.metrics,
        "vocabulary": checkpoint.vocab.words,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"checkpoint: {args.checkpoint}")
    print(f"parameters: {n_params:,}")
    for field in fields(checkpoint.config):
        print(f"  {field.name} = {getattr(checkpoint.config, field.name)!r}")
    data = checkpoint.metrics.get("data")
    if data:
        lengths = f"{data['train_min_length']}-{data['train_max_length']}"
        print(f"trained on {data['train_sentences']:,} sentences of {lengths} words")
    test = checkpoint.metrics.get("test")
    if test:
        print(f"test exact match: {test['exact_match']:.4f} ({test['correct']}/{test['total']})")
    print(f"vocabulary ({len(checkpoint.vocab)} tokens with 4 special): {' '.join(checkpoint.vocab.words)}")
    return 0


def cmd_stress(args: argparse.Namespace) -> int:
    from .stress import build_suites, run_stress, stress_table

    reverser = Reverser.load(args.checkpoint, args.device)
    results = run_stress(reverser, build_suites(reverser.checkpoint, seed=args.seed))
    print(stress_table(results))
    if args.json:
        write_json(args.json, results)
        print(f"results: {args.json}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .analysis import write_report

    out = args.out or args.checkpoint.parent
    for line in write_report(args.checkpoint, out, args.examples):
        print(line)
    return 0


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "reverse": cmd_reverse,
    "info": cmd_info,
    "stress": cmd_stress,
    "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "train":
        # Decoding runs many small operations, for which one thread is faster than several (and far faster when
        # other work shares the cores); training keeps torch's default.
        torch.set_num_threads(1)
    try:
        return COMMANDS[args.command](args)
    except (InputError, CheckpointError, UsageError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
