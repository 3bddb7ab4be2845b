"""Corpora: the built-in generated one, corpus files, and train/valid/test splits that share no sentence."""

import random
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .grammar import SentenceGrammar
from .tokenize import MAX_SENTENCE_CHARS, MAX_SENTENCE_TOKENS, InputError, tokenize

MAX_CORPUS_BYTES = 50 * 1024 * 1024
"""Largest corpus file read, in bytes: far more than a model of this size needs, small enough to read at once."""

MIN_CORPUS_SENTENCES = 30
"""Fewest distinct sentences a corpus needs for three non-empty, disjoint splits."""


@dataclass
class Splits:
    train: list[list[str]]
    valid: list[list[str]]
    test: list[list[str]]
    notes: list[str] = field(default_factory=list)  # where the split differs from what was asked, and why


@dataclass
class CorpusReport:
    """What reading a corpus file kept and what it skipped, and why."""

    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def summary(self) -> str:
        parts = [f"{self.kept:,} sentences"]
        parts += [f"skipped {n:,} {reason}" for reason, n in sorted(self.skipped.items())]
        return ", ".join(parts)


def generate_corpus(size: int, min_length: int, max_length: int, random_share: float, seed: int) -> list[list[str]]:
    """``size`` distinct sentences with lengths drawn uniformly from [min_length, max_length].

    A ``random_share`` of them are random word sequences from the grammar's vocabulary. Short lengths have few distinct
    sentences, so when one length runs out of new ones the draw moves on: lengths are roughly, not exactly, uniform.
    """
    rng = random.Random(seed)
    grammar = SentenceGrammar(rng)
    seen: set[tuple[str, ...]] = set()
    sentences: list[list[str]] = []
    misses = 0
    while len(sentences) < size and misses < 50 * size:
        length = rng.randint(min_length, max_length)
        if rng.random() < random_share:
            words = grammar.random_sequence(length)
        else:
            words = grammar.of_length(length) or grammar.random_sequence(length)
        key = tuple(words)
        if key in seen:
            misses += 1
            continue
        seen.add(key)
        sentences.append(words)
    return sentences


def read_corpus_text(data: bytes, name: str = "corpus") -> tuple[list[list[str]], CorpusReport]:
    """Tokenize one sentence per line. Bad lines are skipped and counted; a file with nothing usable is an error.
    Equal words are one shared string (a 50 MB file's tokens took about 1 GB as separate strings)."""
    if len(data) > MAX_CORPUS_BYTES:
        raise InputError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_CORPUS_BYTES // 2**20} MB.")
    if not data.strip():
        raise InputError(f"{name} is empty: it needs one sentence per line.")
    if b"\x00" in data[:8192]:
        raise InputError(f"{name} looks like a binary file, not text with one sentence per line.")
    report = CorpusReport()
    sentences = []
    shared: dict[str, str] = {}  # each distinct word once, for this file only
    for raw in data.splitlines():
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            report.skip("lines that are not UTF-8")
            continue
        if len(line) > MAX_SENTENCE_CHARS:
            report.skip("over-long lines")
            continue
        tokens = tokenize(line)
        if not tokens:
            report.skip("empty lines")
        elif len(tokens) > MAX_SENTENCE_TOKENS:
            report.skip("over-long lines")
        else:
            sentences.append([shared.setdefault(token, token) for token in tokens])
    report.kept = len(sentences)
    if not sentences:
        raise InputError(f"{name} has no usable sentence ({report.summary()}).")
    return sentences, report


def read_corpus_file(path: str | Path) -> tuple[list[list[str]], CorpusReport]:
    """A corpus file's sentences. A folder, device or FIFO is named for what it is, never "not found"."""
    path = Path(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"corpus file not found: {path}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} is a folder, not a corpus file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path} is not a regular file (a device, FIFO or socket), so it was not read")
    if info.st_size > MAX_CORPUS_BYTES:
        raise InputError(f"{path.name} is {info.st_size / 2**20:.1f} MB; the limit is {MAX_CORPUS_BYTES // 2**20} MB.")
    return read_corpus_text(path.read_bytes(), path.name)


def split_corpus(sentences: list[list[str]], valid_size: int, test_size: int, seed: int) -> Splits:
    """Shuffle distinct sentences into train / valid / test. Duplicates are dropped first, so no sentence is in two
    splits. A corpus with fewer than twice the asked-for valid and test sentences gives each of them a tenth of it
    instead; ``Splits.notes`` says so, and how many duplicates were dropped."""
    unique = list({tuple(s): None for s in sentences})
    if len(unique) < MIN_CORPUS_SENTENCES:
        raise InputError(
            f"the corpus has {len(unique)} distinct sentences; at least {MIN_CORPUS_SENTENCES} are needed to split it."
        )
    notes = []
    if len(unique) < len(sentences):
        notes.append(f"{len(sentences) - len(unique):,} duplicate sentences dropped")
    if valid_size + test_size > len(unique) // 2:
        tenth = max(1, len(unique) // 10)
        notes.append(
            f"{valid_size:,} valid + {test_size:,} test sentences asked for, but the corpus has {len(unique):,} "
            f"distinct ones: each gets a tenth ({tenth:,}) so that most of it is left to train on"
        )
        valid_size = test_size = tenth
    splits = _deal(unique, valid_size, test_size, seed)
    splits.notes = notes
    return splits


def _deal(unique: list[tuple[str, ...]], valid_size: int, test_size: int, seed: int) -> Splits:
    """Shuffle distinct sentences and deal the first ``valid_size`` to valid, the next ``test_size`` to test and the
    rest to train."""
    random.Random(seed).shuffle(unique)
    valid = [list(s) for s in unique[:valid_size]]
    test = [list(s) for s in unique[valid_size : valid_size + test_size]]
    train = [list(s) for s in unique[valid_size + test_size :]]
    return Splits(train, valid, test)


def builtin_splits(config: Config) -> Splits:
    """The generated corpus of a config, split exactly as asked: ``corpus_size`` training sentences and
    ``valid_size`` and ``test_size`` held out. The same config always gives the same splits. Raises InputError when
    the length range does not hold that many distinct sentences."""
    total = config.corpus_size + config.valid_size + config.test_size
    sentences = generate_corpus(total, config.min_length, config.max_length, config.random_share, config.seed)
    if len(sentences) < total:
        lengths = (
            f"{config.min_length}-{config.max_length} words" if config.min_length < config.max_length else
            f"{config.min_length} word{'s' if config.min_length > 1 else ''}"
        )  # fmt: skip
        raise InputError(
            f"the built-in generator found only {len(sentences):,} distinct sentences of {lengths}, fewer than the "
            f"{total:,} asked for ({config.corpus_size:,} train + {config.valid_size:,} valid + "
            f"{config.test_size:,} test): ask for fewer or widen the length range."
        )
    return _deal([tuple(s) for s in sentences], config.valid_size, config.test_size, config.seed)
