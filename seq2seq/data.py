"""Where a run's sentences come from: the built-in generator or corpus files, split and checked.

What a run gets is said, not silently changed: a built-in corpus is split exactly as asked (or refused, saying why),
and every way a file's split or vocabulary differs from the settings is a note in ``RunData.notes``.
``planned_counts`` says before training what a built-in run will get.
"""

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .config import Config
from .corpus import CorpusReport, Splits, builtin_splits, read_corpus_file, read_corpus_text, split_corpus
from .vocab import MAX_WORDS, SPECIALS, Vocabulary


@dataclass(frozen=True)
class SplitCounts:
    """How many sentences each split of a run holds."""

    train: int
    valid: int
    test: int

    def text(self) -> str:
        return f"{self.train:,} train / {self.valid:,} valid / {self.test:,} test sentences"


@dataclass
class RunData:
    splits: Splits
    vocab: Vocabulary
    reports: dict[str, CorpusReport]  # per corpus file read: what was kept and skipped
    notes: list[str] = field(default_factory=list)  # where the data differs from what the settings asked, and why

    @property
    def counts(self) -> SplitCounts:
        return SplitCounts(len(self.splits.train), len(self.splits.valid), len(self.splits.test))

    def describe(self) -> str:
        """The counts, the vocabulary size, and the notes, in one line."""
        return "; ".join([f"{self.counts.text()}, vocabulary {len(self.vocab):,}", *self.notes])

    def summary(self) -> str:
        """The line logs print: ``data: `` and ``describe()``."""
        return f"data: {self.describe()}"


def load_run_data(
    config: Config,
    train_file: str | Path | None = None,
    valid_file: str | Path | None = None,
    test_file: str | Path | None = None,
) -> RunData:
    """The splits and vocabulary of a run. Without files the built-in generator is used. A training file alone is
    split three ways; with both a valid and a test file it is all training data. Training sentences that also appear
    in the valid or test set are dropped, so the splits never share a sentence. The vocabulary comes from the training
    split alone."""
    reports: dict[str, CorpusReport] = {}
    held_out: dict[str, list[list[str]]] = {}
    for which, path in (("valid", valid_file), ("test", test_file)):
        if path is not None:
            held_out[which], reports[Path(path).name] = read_corpus_file(path)
    if train_file is None:
        splits = builtin_splits(config)
    else:
        sentences, reports[Path(train_file).name] = read_corpus_file(train_file)
        if len(held_out) == 2:
            splits = Splits(sentences, [], [])
        else:
            splits = split_corpus(sentences, config.valid_size, config.test_size, config.seed)
    for which, sentences in held_out.items():
        setattr(splits, which, sentences)
    return _run_data(splits, reports)


def run_data_from_text(config: Config, data: bytes, name: str) -> RunData:
    """As ``load_run_data`` with a training file, from the file's bytes (an upload): split three ways."""
    sentences, report = read_corpus_text(data, name)
    return _run_data(split_corpus(sentences, config.valid_size, config.test_size, config.seed), {name: report})


_PLANNING = threading.Lock()


def planned_counts(config: Config) -> SplitCounts:
    """What a run on the built-in corpus will train, validate and test on, before it starts (the corpus is generated
    as training will; the counts of recent configs are kept). Raises InputError as ``load_run_data`` would.

    One at a time: sessions that ask for the same new config at once (a class opening the Train page, each page
    with the defaults) wait for one generation (a third of a second for the defaults), not make one each."""
    with _PLANNING:
        return _planned_counts(config.corpus_size, config.min_length, config.max_length, config.random_share,
                               config.valid_size, config.test_size, config.seed)  # fmt: skip


@lru_cache(maxsize=16)
def _planned_counts(corpus_size, min_length, max_length, random_share, valid_size, test_size, seed) -> SplitCounts:
    config = Config(corpus_size=corpus_size, min_length=min_length, max_length=max_length, random_share=random_share,
                    valid_size=valid_size, test_size=test_size, seed=seed)  # fmt: skip
    return _run_data(builtin_splits(config), {}).counts


def _run_data(splits: Splits, reports: dict[str, CorpusReport]) -> RunData:
    """Drop training sentences that are also held out, and build the vocabulary from what is left."""
    notes = list(splits.notes)
    held_out = {tuple(s) for s in splits.valid + splits.test}
    kept = [s for s in splits.train if tuple(s) not in held_out]
    if len(kept) < len(splits.train):
        notes.append(f"{len(splits.train) - len(kept):,} training sentences dropped: they are held out too")
    splits.train = kept
    vocab = Vocabulary.build(splits.train)
    distinct = len({tok for sentence in splits.train for tok in sentence} - set(SPECIALS))
    if distinct > len(vocab.words):
        notes.append(
            f"vocabulary capped at {MAX_WORDS:,} most frequent words; {distinct - len(vocab.words):,} rarer words "
            "will be read as unknown"
        )
    return RunData(splits, vocab, reports, notes)
