"""One self-contained checkpoint file per model: config, vocabulary, weights, history, metrics, test split.

Checkpoints hold only tensors and plain Python values, so they load with ``torch.load(weights_only=True)``: a file
that would run code when unpickled is refused, not executed. Files are written atomically (a temporary file beside
the target, fsync, then rename), so a crash or a full disk never leaves a half-written checkpoint in place.

A checkpoint is checked whole before anything is built from it: the file's kind and size before it is opened, then
every field's type, range and size, and every weight's shape against the shape its config and vocabulary imply
(computed on the ``meta`` device, which allocates nothing). So a crafted file cannot make loading allocate more than
the file itself holds, nor make ``evaluate`` decode sentences longer than the tokenizer accepts. The limits are
below (``MAX_*``); any breach is a ``CheckpointError`` with a one-line reason.
"""

import dataclasses
import io
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from .config import MAX_VALUES, Config
from .fileio import atomic_write
from .model import Seq2Seq
from .records import HistoryRow, Snapshot
from .tokenize import MAX_SENTENCE_CHARS, MAX_SENTENCE_TOKENS
from .vocab import Vocabulary

FORMAT = "seq2seq-reverser"
FORMAT_VERSION = 2
# Version 1 kept the attention's layers on the decoder itself (``decoder.key`` ...); version 2 moved them into their
# own module (``decoder.attention.key`` ...). Nothing else changed, so a version 1 file is read by renaming.
V1_ATTENTION_LAYERS = ("key", "energy", "location")


class CheckpointError(Exception):
    """A checkpoint that cannot be used, with a one-line reason."""


@dataclass
class Checkpoint:
    config: Config
    vocab: Vocabulary
    state_dict: dict
    history: list[HistoryRow] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    test_sentences: list[list[str]] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)  # attention of fixed validation sentences, per evaluation

    def build_model(self, device: torch.device | str = "cpu") -> Seq2Seq:
        """The model, after checking (without allocating it) that every weight fits it."""
        check_weights(self.state_dict, len(self.vocab), self.config)
        model = Seq2Seq(len(self.vocab), self.config)
        model.load_state_dict(self.state_dict)
        return model.to(device).eval()

    def to_payload(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "vocab": list(self.vocab.itos),
            "state_dict": self.state_dict,
            "history": self.history,
            "metrics": self.metrics,
            "test_sentences": [" ".join(s) for s in self.test_sentences],
            "snapshots": self.snapshots,
        }


def save_checkpoint(checkpoint: Checkpoint, path: str | Path) -> None:
    buffer = io.BytesIO()
    torch.save(checkpoint.to_payload(), buffer)
    atomic_write(path, lambda handle: handle.write(buffer.getbuffer()))


MAX_CHECKPOINT_BYTES = 1024**3
"""Largest checkpoint file read, in bytes (the shipped model is 0.8 MB). Larger ones are refused before reading."""

MAX_VOCABULARY = 200_000
"""Most tokens a checkpoint's vocabulary may hold (runs cap theirs far lower: ``seq2seq.vocab.MAX_WORDS``)."""

MAX_TEST_SENTENCES = MAX_VALUES["test_size"]
"""Most test sentences a checkpoint may hold: the largest test split a run can ask for."""

MAX_SNAPSHOT_EXAMPLES = 10
"""Most watched sentences in one attention snapshot (training records 3)."""

MAX_TEXT_CHARS = 255
"""Longest text setting (a training file's name) in a checkpoint's config."""

MAX_METRIC_VALUES = 100_000
"""Most values (numbers, strings, list items, dict entries) in a checkpoint's metrics, however nested."""

HISTORY_REQUIRED = ("epoch", "step", "train_loss", "valid_loss", "valid_exact_match")
"""Fields every history row must hold (as numbers): the ones the pages, the CLI and the curves read."""

_SPACE = re.compile(r"\s")
_OPTIONAL_FIELDS = {"history": list, "metrics": dict, "test_sentences": list, "snapshots": list}
_FIELDS = {"format", "format_version", "config", "vocab", "state_dict", *_OPTIONAL_FIELDS}


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and check a checkpoint, or raise CheckpointError saying in one line what is wrong with it.

    The path is checked before it is opened (a folder, a device or a FIFO is named as such, and never read or
    waited on), and the open file is checked again, so a path swapped in between cannot slip through."""
    path = Path(path)
    try:
        _check_file(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in after the stat must not block
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except OSError as error:
        raise CheckpointError(f"{path.name} cannot be read: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as handle:
        _check_file(path, os.fstat(fd))
        try:
            payload = torch.load(handle, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises many kinds for truncated, foreign or hostile files
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if "weights_only" in str(error) or "Unsupported global" in str(error):
                reason = "it holds Python objects that could run code when loaded, so it was not loaded"
            raise CheckpointError(f"{path.name} is not a readable checkpoint: {reason[:200]}") from None
    return checkpoint_from_payload(payload, path.name)


def _check_file(path: Path, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path} is not a regular file (a device, FIFO or socket), so it was not read")
    if info.st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path.name} is {info.st_size / 2**20:,.0f} MB; checkpoints are read up to "
            f"{MAX_CHECKPOINT_BYTES // 2**20:,} MB"
        )


def checkpoint_from_payload(payload: object, name: str = "checkpoint") -> Checkpoint:
    """A checkpoint from a loaded payload, after checking every field (see the module's docstring)."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a {FORMAT} checkpoint")
    version = payload.get("format_version")
    if version == 1 and isinstance(payload.get("state_dict"), dict):
        payload = {**payload, "state_dict": state_dict_from_v1(payload["state_dict"], payload.get("config"))}
    elif version != FORMAT_VERSION:
        raise CheckpointError(
            f"{name} has checkpoint format version {version}; "
            f"this version of seq2seq reads versions 1 to {FORMAT_VERSION}"
        )
    try:
        return _checked(payload)
    except (KeyError, TypeError, ValueError) as error:
        message = str(error).strip("'\"") if isinstance(error, KeyError) else str(error)
        raise CheckpointError(f"{name} is damaged: {message[:300]}") from None


def state_dict_from_v1(state_dict: dict, config: object) -> dict:
    """A version 1 state dict with its attention layers under ``decoder.attention``. The plain encoder-decoder
    (``attention="none"``) had unused attention layers, which version 2 no longer has."""
    plain = isinstance(config, dict) and config.get("attention") == "none"
    moved = {}
    for key, value in state_dict.items():
        parts = str(key).split(".")
        if parts[0] == "decoder" and len(parts) > 2 and parts[1] in V1_ATTENTION_LAYERS:
            if plain:
                continue
            key = ".".join(["decoder", "attention", *parts[1:]])
        moved[key] = value
    return moved


def _checked(payload: dict) -> Checkpoint:
    unknown = set(payload) - _FIELDS
    _require(not unknown, f"unknown fields: {', '.join(sorted(map(str, unknown)))[:100]}")
    for key in ("config", "vocab", "state_dict"):
        _require(key in payload, f"it has no {key}")
    for key, kind in _OPTIONAL_FIELDS.items():
        _require(isinstance(payload.get(key, kind()), kind), f"{key} must be a {kind.__name__}")
    config = checked_config(payload["config"])
    vocab = checked_vocab(payload["vocab"])
    check_weights(payload["state_dict"], len(vocab), config)
    most_rows = config.epochs * config.evals_per_epoch + 1  # validations a run can make, the one at a stop included
    return Checkpoint(
        config=config,
        vocab=vocab,
        state_dict=payload["state_dict"],
        history=checked_history(payload.get("history", []), most_rows),
        metrics=checked_metrics(payload.get("metrics", {})),
        test_sentences=checked_test_sentences(payload.get("test_sentences", [])),
        snapshots=checked_snapshots(payload.get("snapshots", []), most_rows),
    )


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise ValueError(reason)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def checked_config(values: object) -> Config:
    """The config, each field of the type its declaration says (``Config.validate`` then checks the ranges)."""
    _require(isinstance(values, dict), "config must be a dict")
    declared = {f.name: f.type for f in dataclasses.fields(Config)}
    for key, value in values.items():
        _require(key in declared, f"unknown config field {str(key)[:50]!r}")
        kinds = typing.get_args(declared[key]) if isinstance(declared[key], types.UnionType) else (declared[key],)
        _require(any(_has_type(value, kind) for kind in kinds), f"config field {key} has a bad value {value!r:.50}")
    return Config.from_dict(values)


def _has_type(value: object, kind: type) -> bool:
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return _is_whole(value)
    if kind is float:
        return _is_number(value)
    return kind is str and isinstance(value, str) and len(value) <= MAX_TEXT_CHARS


def checked_vocab(tokens: object) -> Vocabulary:
    _require(isinstance(tokens, list), "vocab must be a list of words")
    _require(
        len(tokens) <= MAX_VOCABULARY, f"its vocabulary has {len(tokens):,} words; the limit is {MAX_VOCABULARY:,}"
    )
    for token in tokens:
        _require(_is_token(token), f"vocabulary word {token!r:.50} is not a word (a non-empty string of at most "
                 f"{MAX_SENTENCE_CHARS:,} characters without spaces)")  # fmt: skip
    return Vocabulary(tokens)


def _is_token(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_SENTENCE_CHARS and _SPACE.search(token) is None


class _ShapesOnly(TorchFunctionMode):
    """Skips the random initialisation of the parameters built inside it, which a model made for its shapes does not
    need. ``normal_`` (the embeddings' initialisation) on the ``meta`` device imports ``torch._dynamo``, which was most
    of a process's first load before this (README, Speed). A mode holds for its own thread only, so a model built
    elsewhere meanwhile (a training run) is initialised as usual."""

    SKIPPED = frozenset({torch.nn.init.normal_, torch.Tensor.normal_})

    def __torch_function__(
        self, func: Callable, arg_types: tuple, args: tuple = (), kwargs: dict | None = None
    ) -> object:
        kwargs = kwargs or {}
        if func in self.SKIPPED:
            return args[0] if args else kwargs["tensor"]  # left as it is; init.normal_ names its tensor
        return func(*args, **kwargs)


def check_weights(state_dict: object, vocab_size: int, config: Config) -> None:
    """Raise CheckpointError unless ``state_dict`` holds exactly the tensors of ``Seq2Seq(vocab_size, config)``, each of
    its shape and dtype, dense, finite and backed by as much storage as it claims. The expected shapes come from a
    model on the ``meta`` device, which allocates no memory however large its config."""
    if not isinstance(state_dict, dict):
        raise CheckpointError("the weights are not a dict of tensors")
    with torch.device("meta"), _ShapesOnly():
        expected = Seq2Seq(vocab_size, config).state_dict()
    missing = [key for key in expected if key not in state_dict]
    if missing:
        raise CheckpointError(f"the weights do not fit the model its config describes: {missing[0]} is missing")
    extra = [str(key) for key in state_dict if key not in expected]
    if extra:
        raise CheckpointError(f"the weights do not fit the model its config describes: {extra[0][:80]} is not in it")
    for key, want in expected.items():
        tensor = state_dict[key]
        if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.strided or tensor.dtype != want.dtype:
            raise CheckpointError(f"the weights do not fit: {key} is not a dense {want.dtype} tensor")
        if tensor.shape != want.shape:
            raise CheckpointError(
                f"the weights do not fit the model its config describes: {key} has shape {tuple(tensor.shape)}, "
                f"the model needs {tuple(want.shape)}"
            )
        held = tensor.untyped_storage().nbytes() // tensor.element_size() - tensor.storage_offset()
        if not tensor.is_contiguous() or held < tensor.numel():
            raise CheckpointError(f"the weights are malformed: {key} does not hold the values its shape claims")
        if not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"the weights are damaged: {key} holds NaN or infinite values")


def checked_test_sentences(sentences: list) -> list[list[str]]:
    _require(
        len(sentences) <= MAX_TEST_SENTENCES,
        f"it holds {len(sentences):,} test sentences; the limit is {MAX_TEST_SENTENCES:,}",
    )
    out = []
    for sentence in sentences:
        _require(isinstance(sentence, str), f"test sentence {sentence!r:.50} is not a string")
        _require(len(sentence) <= MAX_SENTENCE_CHARS, f"a test sentence is over {MAX_SENTENCE_CHARS:,} characters long")
        tokens = sentence.split(" ")
        _require(len(tokens) <= MAX_SENTENCE_TOKENS, f"a test sentence is over {MAX_SENTENCE_TOKENS} tokens long")
        _require(all(map(_is_token, tokens)), f"test sentence {sentence[:50]!r} is not tokens joined by single spaces")
        out.append(tokens)
    return out


def checked_history(rows: list, most: int) -> list[dict]:
    _require(len(rows) <= most, f"its history has {len(rows):,} rows; its config allows at most {most:,} validations")
    for row in rows:
        _require(isinstance(row, dict) and len(row) <= 50, "a history row is not a dict of at most 50 fields")
        missing = [key for key in HISTORY_REQUIRED if key not in row]
        _require(not missing, f"a history row has no {', '.join(missing)}")
        bad = next((str(key) for key, value in row.items() if not (isinstance(key, str) and _is_number(value))), None)
        _require(bad is None, f"history field {str(bad)[:50]} is not a number")
        _require(_is_whole(row["epoch"]) and _is_whole(row["step"]), "a history row's epoch and step are not whole")
    return list(rows)


def checked_metrics(metrics: dict) -> dict:
    """Plain JSON-like values only (the CLI prints them as JSON), bounded in size; "test" and "data" as written by
    training and the report, since the pages and the CLI read them."""
    _count_plain_values(metrics, depth=0, budget=[MAX_METRIC_VALUES])
    test = metrics.get("test")
    if test is not None:
        _require(isinstance(test, dict), "metrics test must be a dict")
        correct, total, exact = test.get("correct"), test.get("total"), test.get("exact_match")
        _require(
            _is_whole(correct) and _is_whole(total) and 0 <= correct <= total and _is_number(exact) and 0 <= exact <= 1,
            "metrics test must hold exact_match (0 to 1) and whole numbers correct <= total",
        )
    data = metrics.get("data")
    if data is not None:
        _require(isinstance(data, dict), "metrics data must be a dict")
        for key, value in data.items():
            _require(_is_whole(value) and value >= 0, f"metrics data {str(key)[:50]} is not a whole number")
        for key in ("train_min_length", "train_max_length", "seen_max_length"):
            _require(data.get(key, 1) <= MAX_SENTENCE_TOKENS, f"metrics data {key} is over {MAX_SENTENCE_TOKENS}")
    return dict(metrics)


def _count_plain_values(value: object, depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    _require(budget[0] >= 0, f"its metrics hold more than {MAX_METRIC_VALUES:,} values")
    _require(depth <= 8, "its metrics are nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            _require(isinstance(key, str) and len(key) <= MAX_TEXT_CHARS, "a metrics key is not a short string")
            _count_plain_values(item, depth + 1, budget)
    elif isinstance(value, list):
        for item in value:
            _count_plain_values(item, depth + 1, budget)
    elif isinstance(value, str):
        _require(len(value) <= MAX_SENTENCE_CHARS, "a metrics string is too long")
    else:
        _require(value is None or isinstance(value, bool | int | float), f"metrics hold a {type(value).__name__}")


def checked_snapshots(snapshots: list, most: int) -> list[dict]:
    """Attention snapshots as training records them: epoch, step, and a few watched sentences, each with its tokens,
    output and one row of weights (one per source token and ``<eos>``) per decoder step."""
    _require(len(snapshots) <= most, f"it holds {len(snapshots):,} snapshots; its config allows at most {most:,}")
    for snapshot in snapshots:
        _require(isinstance(snapshot, dict), "a snapshot is not a dict")
        _require(set(snapshot) == {"epoch", "step", "examples"}, "a snapshot must hold epoch, step and examples")
        examples = snapshot["examples"]
        _require(_is_whole(snapshot["epoch"]) and _is_whole(snapshot["step"]), "a snapshot's epoch and step are bad")
        _require(isinstance(examples, list) and len(examples) <= MAX_SNAPSHOT_EXAMPLES, "a snapshot's examples are bad")
        for example in examples:
            _require(isinstance(example, dict) and set(example) == {"tokens", "output", "attention"},
                     "a snapshot example must hold tokens, output and attention")  # fmt: skip
            tokens, output, attention = example["tokens"], example["output"], example["attention"]
            _require(_is_token_list(tokens, MAX_SENTENCE_TOKENS) and tokens, "a snapshot's tokens are bad")
            _require(_is_token_list(output, 2 * MAX_SENTENCE_TOKENS), "a snapshot's output is bad")
            _require(
                isinstance(attention, list)
                and len(attention) in (len(output), len(output) + 1)
                and all(_is_weight_row(row, len(tokens) + 1) for row in attention),
                "a snapshot's attention does not match its tokens and output",
            )
    return list(snapshots)


def _is_token_list(tokens: object, most: int) -> bool:
    return isinstance(tokens, list) and len(tokens) <= most and all(map(_is_token, tokens))


def _is_weight_row(row: object, length: int) -> bool:
    return isinstance(row, list) and len(row) == length and all(_is_number(w) and math.isfinite(w) for w in row)
