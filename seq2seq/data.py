"""Where a run's sentences come from: the built-in generator or corpus files, split and checked."""

from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .corpus import CorpusReport, Splits, builtin_splits, read_corpus_file, read_corpus_text, split_corpus
from .vocab import Vocabulary


@dataclass
class RunData:
    splits: Splits
    vocab: Vocabulary
    reports: dict[str, CorpusReport]  # per corpus file read: what was kept and skipped

    def summary(self) -> str:
        """The one line every front end shows for a run's data."""
        splits = self.splits
        return (
            f"{len(splits.train):,} train / {len(splits.valid):,} valid / {len(splits.test):,} test sentences, "
            f"vocabulary {len(self.vocab):,}"
        )


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


def _run_data(splits: Splits, reports: dict[str, CorpusReport]) -> RunData:
    """Drop training sentences that are also held out, and build the vocabulary from what is left."""
    held_out = {tuple(s) for s in splits.valid + splits.test}
    splits.train = [s for s in splits.train if tuple(s) not in held_out]
    return RunData(splits, Vocabulary.build(splits.train), reports)
