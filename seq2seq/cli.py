"""The command line: ``python -m seq2seq {train,evaluate,reverse,score,info,stress,report} ...``.

Every error a user can cause (a missing or foreign checkpoint, an empty sentence, a bad corpus file, a setting out of
range, an output path that cannot be written) prints one line on stderr and exits with status 2; nothing prints a
traceback for them. ``reverse`` and ``score`` answer stdin's lines in batches as they come, in bounded memory, and
report each bad one on stderr by its number, then exit with status 2 if there was any.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import torch

from .checkpoint import CheckpointError, load_checkpoint
from .config import Config
from .corpus import read_corpus_file
from .data import load_run_data
from .decoding import MAX_BEAM, Reversal, Reverser, check_options, forced_word_id, has_attention
from .evaluation import evaluate_sentences, pick_examples
from .failures import counts_text
from .fileio import FolderLock, output_target, write_json
from .linestream import BATCH_LINES, Line, chunks_of, line_batches
from .metrics import NO_ALIGNMENT, format_example
from .paths import RUN_INFO, default_checkpoint_path, new_run_dir
from .tokenize import MAX_SENTENCE_CHARS, InputError, checked_tokens
from .vocab import SPECIALS, Vocabulary

RUNS_DIR = Path("runs")
"""Where ``train`` without ``--out`` makes a new run folder, relative to the working folder."""
MODEL_FILES = ("model.pt", "history.csv")  # what a run folder holding a model has; --overwrite replaces them
REPORT_FILES = ("metrics.json", "examples.md", "attention_heatmap.png", "ANALYSIS.md", "replay.html", "replay.gif")
"""What `report` writes."""
MAX_EXAMPLES = 1_000
MAX_EVALUATED_WEIGHTS = 5_000_000
"""Most attention weights ``evaluate`` holds (every sentence's, to measure alignment): about 250 MB as Python floats.
A sentence of n tokens takes at most (n + 1) x (n + 6) (greedy and beam search stop n + 5 steps in)."""

if TYPE_CHECKING:
    from .train import Progress

T = TypeVar("T")

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
    "attention_query": "what the attention is queried with: previous (default, the paper's: s_{i-1}), current (s_i) "
    "or none (no query term: location attention moved by the words and where it looked last alone)",
    "stop": "where <eos> comes from: readout (default, the paper's), attention (a learned gate on the attention "
    "reaching the source's <eos>), gate (both added) or coverage (a learned gate on the least attention any source "
    "word has had: every word read, stop)",
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
    train.add_argument(
        "--out", type=Path, help=f"run folder (default: a new one under {RUNS_DIR}/ named after the time)"
    )
    train.add_argument(
        "--overwrite", action="store_true", help="train into an --out that already holds a model, replacing it"
    )
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
    evaluate.add_argument("--examples", type=_example_count, default=10, help=f"0 to {MAX_EXAMPLES:,}")
    evaluate.add_argument("--heatmap", type=Path, help="write the attention heatmap of one example to this PNG")
    evaluate.add_argument("--json", type=Path, help="write the metrics as JSON to this file")
    evaluate.add_argument("--no-copy", action="store_true", help="leave <unk> in the output (the plain model)")
    _search_flags(evaluate)

    reverse = commands.add_parser("reverse", help="reverse sentences given as arguments or lines on stdin")
    _checkpoint_flag(reverse)
    reverse.add_argument("sentence", nargs="*")
    reverse.add_argument(
        "--json", action="store_true", help="print tokens, output and attention as one JSON list, item by item"
    )
    reverse.add_argument("--no-copy", action="store_true", help="leave <unk> in the output (the plain model)")
    _search_flags(reverse, decoding_details=True)

    info = commands.add_parser("info", help="what a checkpoint holds")
    _checkpoint_flag(info)
    info.add_argument("--json", action="store_true")

    stress = commands.add_parser("stress", help="exact match on unknown-word, long, repeated, random and short suites")
    _checkpoint_flag(stress)
    stress.add_argument("--seed", type=int, default=1234)
    stress.add_argument("--json", type=Path, help="write the results as JSON to this file")

    _score_parser(commands)

    report = commands.add_parser("report", help="write " + ", ".join(REPORT_FILES))
    _checkpoint_flag(report)
    report.add_argument("--out", type=Path, help="default: the checkpoint's folder")
    report.add_argument("--examples", type=_example_count, default=12, help=f"0 to {MAX_EXAMPLES:,}")
    return parser


def _checkpoint_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=default_checkpoint_path(),
        help="default: artifacts/model.pt, or the file SEQ2SEQ_CHECKPOINT names",
    )
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])


def _example_count(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_EXAMPLES:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_EXAMPLES:,}")
    return value


def check_output(path: Path, reads: Iterable[Path | None]) -> None:
    """``output_target``'s checks, and never a file the command reads: a slip such as ``--json model.pt`` must not
    write over the model, nor ``--json`` over the ``--test-file``, that the command is about to read."""
    target, _ = output_target(path)
    for read in reads:
        if read is not None and target == Path(os.path.realpath(read)):
            raise UsageError(f"cannot write {path}: it is {read}, which this command reads; give another file name")


def check_out_folder(out: Path, overwrite: bool) -> None:
    """Refuse an ``--out`` that cannot be trained into: a file, a folder under a file, one that already holds a model
    (unless ``overwrite``), or one another process is training into."""
    for name in MODEL_FILES:
        output_target(out / name)  # a folder or file in the way, or a hard-linked file: a one-line error now
    held = [name for name in MODEL_FILES if os.path.lexists(out / name)]
    if held and not overwrite:
        raise UsageError(
            f"{out} already holds a model ({', '.join(held)}); train into a new folder (leave out --out for a new "
            f"one under {RUNS_DIR}/) or pass --overwrite to replace it"
        )
    if out.is_dir():
        with FolderLock(out):  # the trainer takes it for the whole run; this only says early that it is taken
            pass


class ProgressLine:
    """Training progress within an epoch, on a terminal: one line redrawn in place after a carriage return (step of
    total, steps per second, the last batch's loss), cleared for each line the trainer prints. Anywhere else (a file,
    a pipe) it draws nothing and only the trainer's lines are printed."""

    def __init__(self, stream: TextIO, min_interval: float = 0.1) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.min_interval = min_interval
        self.text = ""  # what the line shows now, "" when nothing is drawn
        self._start: tuple[float, int] | None = None  # (time, step) of the first batch seen
        self._drawn_at = -float("inf")

    def update(self, progress: "Progress") -> None:
        """The trainer's callback: draws on "batch", clears on "end"."""
        if not self.live:
            return
        if progress.kind == "end":
            self._erase()
            self.text = ""
            return
        if progress.kind != "batch":
            return
        now = time.monotonic()
        if self._start is None:
            self._start = (now, progress.step)
        if now - self._drawn_at < self.min_interval:
            return
        self._drawn_at = now
        started, first_step = self._start
        rate = (progress.step - first_step) / (now - started) if now > started else 0.0
        done = progress.step / progress.total_steps if progress.total_steps else 0.0
        bar = ("=" * round(20 * done)).ljust(20)
        text = (
            f"epoch {progress.epoch} [{bar}] step {progress.step:,}/{progress.total_steps:,} "
            f"{rate:.1f} steps/s  loss {progress.train_loss:.4f}"
        )
        self._erase()
        self.text = text[: shutil.get_terminal_size().columns - 1]  # a wrapped line could not be redrawn
        self.stream.write(self.text)
        self.stream.flush()

    def log(self, line: str) -> None:
        """Print a line of the trainer's above the progress line."""
        self._erase()
        print(line, file=self.stream)
        if self.text:
            self.stream.write(self.text)
        self.stream.flush()

    def _erase(self) -> None:
        if self.text:
            self.stream.write("\r" + " " * len(self.text) + "\r")


def _search_flags(parser: argparse.ArgumentParser, decoding_details: bool = False) -> None:
    parser.add_argument("--beam", type=int, default=1, help=f"beam width, 1 (greedy, the default) to {MAX_BEAM}")
    parser.add_argument(
        "--length-penalty",
        type=float,
        default=0.0,
        help="rank hypotheses by log-probability / ((5 + length) / 6) ** this (default 0: by log-probability)",
    )
    if decoding_details:
        parser.add_argument("--n-best", type=int, help="with --json: this many hypotheses per sentence, best first")
        parser.add_argument("--prefix", default="", help='force the first output words, e.g. --prefix "mat the"')


def _score_parser(commands) -> None:
    score = commands.add_parser(
        "score",
        help="the model's log-probability of a candidate reversal, token by token (teacher forced, <eos> included)",
    )
    _checkpoint_flag(score)
    score.add_argument("source", nargs="?", help="the sentence (without it: SOURCE<TAB>CANDIDATE lines on stdin)")
    score.add_argument("candidate", nargs="?", help="the candidate reversal")
    score.add_argument("--json", action="store_true", help="print a JSON list, one object per pair, in order")


def _search_n_best(args: argparse.Namespace) -> int:
    """The n-best the flags ask for, once the search flags are checked: before any model is loaded, so that a flag out
    of range is refused at once, not after the load. Raises ValueError naming the flag and its range."""
    n_best = getattr(args, "n_best", None)
    n_best = 1 if n_best is None else n_best  # --n-best 0 is refused by the search, not taken for "not given"
    check_options(args.beam, n_best, args.length_penalty)
    return n_best


def _search_reverser(reverser: Reverser, args: argparse.Namespace) -> Reverser:
    """The reverser with the search the flags ask for (a beam of 1 is greedy decoding, exactly)."""
    n_best = _search_n_best(args)
    try:
        prefix = _prefix_tokens(getattr(args, "prefix", ""), reverser.vocab)
    except InputError as error:
        raise InputError(f"--prefix: {error}") from None
    return reverser.with_search(args.beam, n_best, args.length_penalty, prefix)


def _prefix_tokens(text: str, vocab: Vocabulary) -> list[str]:
    """``--prefix``'s tokens: the words tokenized as a sentence is, except that a special token typed as a word stays
    whole: ``<eos>`` ends the output there, ``<unk>`` is copied as the model's own is, ``<pad>`` and ``<sos>`` are
    refused (``forced_word_id``: no decode writes them)."""
    tokens: list[str] = []
    words: list[str] = []
    for piece in [*text.split(), None]:
        if piece is not None and piece not in SPECIALS:
            words.append(piece)
            continue
        if words:
            tokens += checked_tokens(" ".join(words), "prefix")
            words = []
        if piece is not None:
            forced_word_id(piece, vocab)
            tokens.append(piece)
    return tokens


def _search_json(decoded: Reversal, args: argparse.Namespace) -> dict:
    """What ``reverse --json`` adds per sentence: the output's log-probability and, with --n-best, the hypotheses."""
    extra: dict = {"log_prob": decoded.found.log_prob}
    if getattr(args, "n_best", None) is not None:
        extra["hypotheses"] = [{"output": " ".join(h.output), "log_prob": h.found.log_prob} for h in decoded.hypotheses]
    return extra


def _pair(text: str) -> tuple[list[str], list[str]]:
    """The source and candidate tokens of a SOURCE<TAB>CANDIDATE line, or InputError saying which is unusable."""
    if text.count("\t") != 1:
        raise InputError(f"expected SOURCE<TAB>CANDIDATE, one tab; the line has {text.count(chr(9))}")
    source, candidate = text.split("\t")
    return _pair_tokens(source, candidate)


def _pair_tokens(source: str, candidate: str) -> tuple[list[str], list[str]]:
    tokens = []
    for which, text in (("source", source), ("candidate", candidate)):
        try:
            tokens.append(checked_tokens(text))
        except InputError as error:
            raise InputError(f"{which}: {error}") from None
    return tokens[0], tokens[1]


def cmd_score(args: argparse.Namespace) -> int:
    from .scoring import score_pairs

    if (args.source is None) != (args.candidate is None):
        raise UsageError("give both SOURCE and CANDIDATE, or neither (then SOURCE<TAB>CANDIDATE lines on stdin)")
    reverser = Reverser.load(args.checkpoint, args.device)
    if args.source is not None:
        pair = _pair_tokens(args.source, args.candidate)  # a bad one is a one-line error, exit 2
        batches: Iterable[list[tuple[str, tuple[list[str], list[str]]]]] = [[("", pair)]]
        tally = _Tally(given=1)
    else:
        tally = _Tally()
        lines = line_batches(chunks_of(sys.stdin.buffer), 2 * MAX_SENTENCE_CHARS + 1)  # two sentences and a tab
        batches = _good_lines(lines, "line", _pair, tally)
    json_list = _JsonList() if args.json else None
    for batch in batches:
        for score in score_pairs(reverser, [pair for _, pair in batch]):
            if json_list is not None:
                json_list.write(
                    {
                        "source": " ".join(score.source),
                        "candidate": " ".join(score.candidate),
                        "tokens": [t.token for t in score.tokens],
                        "log_probs": score.log_probs,
                        "log_prob": score.log_prob,
                        "model_tokens": [t.model_token for t in score.tokens],
                    }
                )
            else:
                terms = "  ".join(
                    f"{t.token} {t.log_prob:.4f}{'' if t.agrees else f' (model: {t.model_token})'}"
                    for t in score.tokens
                )
                sys.stdout.write(f"{score.log_prob:.4f}\t{terms}\n")
        sys.stdout.flush()
    if tally.given == 0:
        raise InputError("no pair given: pass SOURCE and CANDIDATE, or SOURCE<TAB>CANDIDATE lines on stdin")
    if json_list is not None:
        json_list.close()
    return 2 if tally.bad else 0


def cmd_train(args: argparse.Namespace) -> int:
    from .run_folder import Trainer

    config = Config(
        **{name: getattr(args, name) for name in TRAIN_FLAGS},
        train_file=args.train_file.name if args.train_file else None,
    )
    if args.out is not None:
        check_out_folder(args.out, args.overwrite)
    elif args.overwrite:
        raise UsageError("--overwrite needs --out: without it every run gets a new folder")
    data = load_run_data(config, args.train_file, args.valid_file, args.test_file)
    for name, report in data.reports.items():
        print(f"{name}: {report.summary()}")
    print(data.summary())
    out = args.out if args.out is not None else new_run_dir(RUNS_DIR)
    print(f"run folder: {out}", flush=True)
    if os.path.lexists(out / RUN_INFO):  # the app's record of the model this run replaces
        (out / RUN_INFO).unlink()
        print(f"removed {out / RUN_INFO}: it described the earlier model; the app lists this run from its checkpoint")
    progress = ProgressLine(sys.stdout)
    trainer = Trainer(config, data, out, callback=progress.update, report_every=1, log=progress.log)

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
    print(f"history: {out / 'history.csv'}")
    earlier = [name for name in REPORT_FILES if (out / name).exists()]
    if earlier:
        print(
            f"note: {', '.join(earlier)} in {out} still describe the earlier model; "
            f"`python -m seq2seq report --checkpoint {result.checkpoint_path}` rewrites them"
        )
    return 1 if result.stop_reason == "diverged" else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    for path in (args.json, args.heatmap):
        if path is not None:
            check_output(path, (args.checkpoint, args.test_file))  # a one-line error before any work
    _search_n_best(args)  # so is a search flag out of range
    reverser = _search_reverser(Reverser.load(args.checkpoint, args.device, copy_unknown=not args.no_copy), args)
    if args.heatmap and not has_attention(reverser.model):
        raise InputError(f"--heatmap: {NO_ALIGNMENT} to draw")
    if args.test_file:
        sentences, corpus_report = read_corpus_file(args.test_file)
        print(f"{args.test_file.name}: {corpus_report.summary()}")
    else:
        sentences = reverser.checkpoint.test_sentences
    if not sentences:
        raise UsageError(f"{args.checkpoint} holds no test split; pass --test-file")
    weights = sum((len(tokens) + 1) * (len(tokens) + 6) for tokens in sentences)
    if weights > MAX_EVALUATED_WEIGHTS:
        raise InputError(
            f"{len(sentences):,} test sentences of {sum(map(len, sentences)) / len(sentences):.0f} tokens on average "
            f"need up to {weights:,} attention weights held at once; the limit is {MAX_EVALUATED_WEIGHTS:,} (about "
            f"{MAX_EVALUATED_WEIGHTS // 126:,} sentences of 8 tokens): evaluate a part of them, say with `split -l`"
        )
    report = evaluate_sentences(reverser, sentences)
    for example in pick_examples(report.results, args.examples):
        print(format_example(example), end="\n\n")
    print(report.evaluation.summary() + (f" (beam {args.beam})" if args.beam > 1 else ""))
    print(f"token accuracy: {report.evaluation.token_accuracy:.4f}")
    print(f"failures by first wrong step: {counts_text(report.evaluation.failures) or 'none'}")
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
    if args.n_best is not None and not args.json:
        raise UsageError("--n-best lists hypotheses in the JSON output: add --json")
    _search_n_best(args)  # a search flag out of range is refused before the model is loaded
    reverser = Reverser.load(args.checkpoint, args.device, copy_unknown=not args.no_copy)
    searcher = _search_reverser(reverser, args)
    tally = _Tally()
    if args.sentence:
        lines: Iterable[list[Line]] = [[Line(n, text) for n, text in enumerate(args.sentence, start=1)]]
        batches = _good_lines(lines, "sentence", checked_tokens, tally)
    else:
        batches = _good_lines(line_batches(chunks_of(sys.stdin.buffer), MAX_SENTENCE_CHARS), "line", checked_tokens,
                              tally)  # fmt: skip
    json_list = _JsonList() if args.json else None
    per_search = max(1, BATCH_LINES // searcher.beam)  # a beam keeps `beam` hypotheses a sentence, attention and all
    for good in batches:
        for start in range(0, len(good), per_search):
            _print_decoded(good[start : start + per_search], searcher, args, json_list)
    if tally.given == 0:
        raise InputError("no sentence given: pass one as an argument or as lines on stdin")
    if json_list is not None:
        json_list.close()
    return 2 if tally.bad else 0


def _print_decoded(
    good: list[tuple[str, list[str]]], searcher: Reverser, args: argparse.Namespace, json_list: "_JsonList | None"
) -> None:
    """Decode sentences and print each answer, as text or as items of the JSON list."""
    decoded = searcher.reverse_tokens([tokens for _, tokens in good], batch_size=len(good))
    for (text, _), result in zip(good, decoded, strict=True):
        if json_list is not None:
            json_list.write(reversal_record(text, result, has_attention(searcher.model)) | _search_json(result, args))
        else:
            sys.stdout.write(" ".join(result.output) + "\n")
    sys.stdout.flush()


@dataclass
class _Tally:
    given: int = 0  # lines that were not blank
    bad: int = 0  # of them, those reported as unusable


def _good_lines(
    batches: Iterable[list[Line]], where: str, parse: Callable[[str], T], tally: _Tally
) -> Iterator[list[tuple[str, T]]]:
    """Each batch's usable lines as (text, ``parse(text)``), as the batches come. A blank stdin line is skipped; an
    unusable one (``parse`` raises InputError, or the stream could not read it) is reported on stderr by its number
    and counted in ``tally``."""
    for batch in batches:
        good: list[tuple[str, T]] = []
        for line in batch:
            if line.text is not None and not line.text.strip() and where == "line":
                continue  # blank lines between sentences are not sentences
            tally.given += 1
            try:
                if line.text is None:
                    raise InputError(line.problem)
                good.append((line.text, parse(line.text)))
            except InputError as error:
                tally.bad += 1
                print(f"error: {where} {line.number}: {error}", file=sys.stderr, flush=True)
        if good:
            yield good


class _JsonList:
    """A JSON list on stdout written item by item, as it comes: the same text ``json.dumps(items, indent=2)`` gives."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, item: dict) -> None:
        sys.stdout.write(("[\n" if self.count == 0 else ",\n") + textwrap.indent(json.dumps(item, indent=2), "  "))
        self.count += 1

    def close(self) -> None:
        print("\n]" if self.count else "[]", flush=True)


def reversal_record(text: str, r: Reversal, attends: bool = True) -> dict:
    """What ``reverse --json`` prints for one sentence. A model that does not attend (``attends`` False) gets
    ``"attention": null``: its weights only pick a fixed context, they say nothing about where it looked."""
    return {
        "input": text,
        "tokens": r.tokens,
        "unknown": [t for t, k in zip(r.tokens, r.known, strict=True) if not k],
        "output": " ".join(r.output),
        "output_tokens": r.output,
        "copied": r.copied,
        "reference": " ".join(r.reference),
        "match": r.match,
        "attention": r.attention if attends else None,
    }


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
        from .stress import trained_lengths

        longest, seen = trained_lengths(checkpoint)
        lengths = f"{data.get('train_min_length', 1)}-{longest}"  # a checkpoint's data may hold only some counts
        joined = f", joined into examples of up to {seen} words" if seen > longest else ""
        count = f"{data['train_sentences']:,} " if "train_sentences" in data else ""
        print(f"trained on {count}sentences of {lengths} words{joined}")
    test = checkpoint.metrics.get("test")
    if test:
        print(f"test exact match: {test['exact_match']:.4f} ({test['correct']}/{test['total']})")
    print(f"vocabulary ({len(checkpoint.vocab)} tokens with 4 special): {' '.join(checkpoint.vocab.words)}")
    return 0


def cmd_stress(args: argparse.Namespace) -> int:
    from .stress import build_suites, run_stress, stress_table

    if args.json is not None:
        check_output(args.json, (args.checkpoint,))
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
    for name in REPORT_FILES:
        check_output(out / name, (args.checkpoint,))  # a one-line error before any work, not after half of it
    # held while the report is made, as training holds it: no report of a model that another process is replacing
    with FolderLock(out) if out.is_dir() else nullcontext():
        for line in write_report(args.checkpoint, out, args.examples, args.device):
            print(line)
    return 0


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "reverse": cmd_reverse,
    "info": cmd_info,
    "stress": cmd_stress,
    "report": cmd_report,
    "score": cmd_score,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "train":
        # Decoding runs many small operations, for which one thread is faster than several (and far faster when
        # other work shares the cores); training keeps torch's default.
        torch.set_num_threads(1)
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as `cat` would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush does not fail again
        return 1
    except (InputError, CheckpointError, UsageError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
