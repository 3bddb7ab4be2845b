"""Whether a checkpoint's payload can be used: the checks that stand between a hostile or damaged file and the
model (``seq2seq.checkpoint`` holds the format itself).

A checkpoint is checked whole before anything is built from it: the file's kind and size before it is opened, then
every field's type, range and size, and every weight's shape against the shape its config and vocabulary imply
(computed on the ``meta`` device, which allocates nothing). So a crafted file cannot make loading allocate more than
the file itself holds, nor make ``evaluate`` decode sentences longer than the tokenizer accepts. The limits are
below (``MAX_*``); any breach is a ``CheckpointError`` with a one-line reason.
"""

import dataclasses
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from .config import MAX_VALUES, Config
from .model import Seq2Seq
from .tokenize import MAX_SENTENCE_CHARS, MAX_SENTENCE_TOKENS
from .vocab import Vocabulary


class CheckpointError(Exception):
    """A checkpoint that cannot be used, with a one-line reason."""


MAX_CHECKPOINT_BYTES = 1024**3
"""Largest checkpoint file read, in bytes (the shipped model is 0.8 MB). Larger ones are refused before reading."""

MAX_VOCABULARY = 200_000
"""Most tokens a checkpoint's vocabulary may hold (runs cap theirs far lower: ``seq2seq.vocab.MAX_WORDS``)."""

MAX_TEST_SENTENCES = MAX_VALUES["test_size"]
"""Most test sentences a checkpoint may hold: the largest test split a run can ask for."""

MAX_SNAPSHOT_EXAMPLES = 10
"""Most watched sentences in one attention snapshot (training records 3)."""

MAX_REPLAY_MOMENTS = 100
"""Most moments (attention snapshots) a replay keeps; a run thins its own evenly to stay within it
(``seq2seq.replay.Thinning``)."""

MAX_REPLAY_CELLS = 500_000
"""Most attention weights in all of a replay's moments together: about 4.5 MB in a checkpoint."""

MAX_TEXT_CHARS = 255
"""Longest text setting (a training file's name) in a checkpoint's config."""

MAX_METRIC_VALUES = 100_000
"""Most values (numbers, strings, list items, dict entries) in a checkpoint's metrics, however nested."""

HISTORY_REQUIRED = ("epoch", "step", "train_loss", "valid_loss", "valid_exact_match")
"""Fields every history row must hold (as numbers): the ones the pages, the CLI and the curves read."""

_SPACE = re.compile(r"\s")
_OPTIONAL_FIELDS = {"history": list, "metrics": dict, "test_sentences": list, "snapshots": list}
_FIELDS = {"format", "format_version", "config", "vocab", "state_dict", *_OPTIONAL_FIELDS}


def check_file(path: Path, info: os.stat_result) -> None:
    """Refuse a folder, a device, a FIFO or a socket, and a file over ``MAX_CHECKPOINT_BYTES``, before reading it."""
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path} is not a regular file (a device, FIFO or socket), so it was not read")
    if info.st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path.name} is {info.st_size / 2**20:,.0f} MB; checkpoints are read up to "
            f"{MAX_CHECKPOINT_BYTES // 2**20:,} MB"
        )


def checked_fields(payload: dict) -> dict:
    """The fields of a payload, each checked, as the keyword arguments of a ``Checkpoint``; a breach raises
    ValueError (or KeyError, TypeError) with a one-line reason."""
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
    return dict(
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
    of a process's first load before this (docs/speed.md). A mode holds for its own thread only, so a model built
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
    """A replay's moments as training records them (``records.Snapshot``): epoch, step, a few watched sentences, each
    with its tokens, output and one row of weights (one per source token and ``<eos>``) per decoder step, the exact
    match per source length and the mirror-peak share; a checkpoint written before the replay holds the first three
    only. No more than its config has validations, and, of the moments written with the replay, at most
    ``MAX_REPLAY_MOMENTS`` and ``MAX_REPLAY_CELLS`` weights in all (an earlier file's snapshots are thinned within
    those on load: ``seq2seq.replay.loaded_replay``)."""
    _require(len(snapshots) <= most, f"its replay holds {len(snapshots):,} snapshots; its config allows {most:,}")
    moments = sum(isinstance(s, dict) and "exact_by_length" in s for s in snapshots)
    _require(
        moments <= MAX_REPLAY_MOMENTS,
        f"its replay holds {moments:,} snapshots; the limit is {MAX_REPLAY_MOMENTS:,}",
    )
    cells = 0
    for snapshot in snapshots:
        _require(isinstance(snapshot, dict), "a snapshot is not a dict")
        _require(
            set(snapshot) in (_SNAPSHOT_KEYS, _OLD_SNAPSHOT_KEYS),
            "a snapshot must hold epoch, step, examples, exact_by_length and mirror_peak_share",
        )
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
                isinstance(attention, list) and len(attention) in (len(output), len(output) + 1),
                "a snapshot's attention does not match its tokens and output",
            )
            if "exact_by_length" in snapshot:
                cells += len(attention) * (len(tokens) + 1)
                _require(cells <= MAX_REPLAY_CELLS, f"its replay holds over {MAX_REPLAY_CELLS:,} attention weights")
            _require(
                all(_is_weight_row(row, len(tokens) + 1) for row in attention),
                "a snapshot's attention does not match its tokens and output",
            )
        if "exact_by_length" in snapshot:
            _check_moment_figures(snapshot["exact_by_length"], snapshot["mirror_peak_share"])
    return list(snapshots)


_OLD_SNAPSHOT_KEYS = {"epoch", "step", "examples"}  # a checkpoint written before the replay
_SNAPSHOT_KEYS = {*_OLD_SNAPSHOT_KEYS, "exact_by_length", "mirror_peak_share"}


def _check_moment_figures(by_length: object, share: object) -> None:
    _require(
        isinstance(by_length, dict) and len(by_length) <= MAX_SENTENCE_TOKENS,
        f"a snapshot's exact match by length is not a dict of at most {MAX_SENTENCE_TOKENS} lengths",
    )
    for length, value in by_length.items():
        _require(
            isinstance(length, str)
            and length.isascii()
            and length.isdecimal()
            and len(length) <= 3
            and 0 < int(length) <= MAX_SENTENCE_TOKENS,
            f"a snapshot's sentence length {str(length)[:20]!r} is not a whole number from 1 to {MAX_SENTENCE_TOKENS}",
        )
        _require(_is_share(value), "a snapshot's exact match by length is not a share from 0 to 1")
    _require(share is None or _is_share(share), "a snapshot's mirror-peak share is not a share from 0 to 1")


def _is_share(value: object) -> bool:
    return _is_number(value) and 0 <= value <= 1


def _is_token_list(tokens: object, most: int) -> bool:
    return isinstance(tokens, list) and len(tokens) <= most and all(map(_is_token, tokens))


def _is_weight_row(row: object, length: int) -> bool:
    return isinstance(row, list) and len(row) == length and all(_is_number(w) and math.isfinite(w) for w in row)
