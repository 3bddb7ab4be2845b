import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from seq2seq import data as data_module
from seq2seq.corpus import builtin_splits
from seq2seq.data import SplitCounts, load_run_data, planned_counts, run_data_from_text
from seq2seq.tokenize import InputError
from seq2seq.vocab import MAX_WORDS
from tests.conftest import tiny_config, write_tiny_corpus


def test_builtin_data_builds_the_vocabulary_from_training_sentences_only():
    data = load_run_data(tiny_config(corpus_size=500, valid_size=50, test_size=50))
    train_words = {w for s in data.splits.train for w in s}
    assert set(data.vocab.words) == train_words


def test_a_training_file_is_split_three_ways(tiny_corpus):
    data = load_run_data(tiny_config(), tiny_corpus)
    assert len(data.splits.valid) == len(data.splits.test) == 60
    assert data.reports["tiny.txt"].kept > 0


def test_given_valid_and_test_files_are_removed_from_training(tmp_path, tiny_corpus):
    held_out = write_tiny_corpus(tmp_path / "held.txt", count=50, seed=7)
    data = load_run_data(tiny_config(), tiny_corpus, valid_file=held_out, test_file=held_out)
    held = {tuple(s) for s in data.splits.valid}
    assert held and not held & {tuple(s) for s in data.splits.train}
    assert data.splits.test == data.splits.valid


def test_with_valid_and_test_files_the_whole_training_file_trains(tmp_path, tiny_corpus):
    valid = write_tiny_corpus(tmp_path / "valid.txt", count=40, seed=8)
    test = write_tiny_corpus(tmp_path / "test.txt", count=40, seed=9)
    data = load_run_data(tiny_config(), tiny_corpus, valid_file=valid, test_file=test)
    held = {tuple(s) for s in data.splits.valid + data.splits.test}
    corpus = [line.split() for line in tiny_corpus.read_text().splitlines()]
    assert len(data.splits.train) == len([s for s in corpus if tuple(s) not in held])


@pytest.mark.parametrize(
    "asked",
    [
        {"corpus_size": 30},  # once 1,624 (valid and test had shrunk to a tenth of the whole and train got the rest)
        {"corpus_size": 300, "test_size": 3_000},  # once 80,264 of 300 asked, at 100,000 test sentences
    ],
)
def test_the_builtin_corpus_gives_exactly_the_counts_asked_for_and_says_so_before_training(asked):
    config = tiny_config(**asked)
    expected = SplitCounts(config.corpus_size, config.valid_size, config.test_size)
    assert planned_counts(config) == expected
    data = load_run_data(config)
    assert data.counts == expected and data.notes == []
    assert data.summary().startswith(f"data: {expected.text()}, vocabulary")


def test_a_length_range_with_too_few_sentences_is_refused_saying_how_many_there_are():
    config = tiny_config(corpus_size=1_000, min_length=1, max_length=1)
    for attempt in (lambda: planned_counts(config), lambda: load_run_data(config)):
        with pytest.raises(InputError, match=r"found only [\d,]+ distinct sentences of 1 word, fewer than the 1,120"):
            attempt()


def test_a_file_too_small_for_the_asked_split_says_what_it_got_instead(tmp_path):
    corpus = write_tiny_corpus(tmp_path / "small.txt", count=200)
    lines = corpus.read_text().splitlines()
    corpus.write_text("\n".join(lines + lines[:5]) + "\n")  # five duplicates too
    data = load_run_data(tiny_config(), corpus)
    tenth = len(lines) // 10
    assert data.counts == SplitCounts(len(lines) - 2 * tenth, tenth, tenth)
    assert "5 duplicate sentences dropped" in data.notes
    assert any(f"each gets a tenth ({tenth:,})" in note for note in data.notes)
    assert "each gets a tenth" in data.summary()


def test_held_out_files_say_how_many_training_sentences_they_took(tmp_path, tiny_corpus):
    held_out = write_tiny_corpus(tmp_path / "held.txt", count=50, seed=7)
    data = load_run_data(tiny_config(), tiny_corpus, valid_file=held_out, test_file=held_out)
    assert any("training sentences dropped: they are held out too" in note for note in data.notes)


def test_the_vocabulary_keeps_the_most_frequent_words_and_says_how_many_it_cut():
    """An upload with 25,000 distinct words: the vocabulary stops at MAX_WORDS and the summary says what was cut."""
    common = [f"common{i}" for i in range(10)]
    lines = [" ".join([*common[i % 10 : i % 10 + 2], f"rare{i}", f"rarer{i}"]) for i in range(12_500)]
    data = run_data_from_text(tiny_config(valid_size=10, test_size=10), "\n".join(lines).encode(), "big.txt")
    distinct = len({tok for s in data.splits.train for tok in s})
    assert len(data.vocab.words) == MAX_WORDS
    assert set(common) <= set(data.vocab.words)
    note = f"vocabulary capped at {MAX_WORDS:,} most frequent words; {distinct - MAX_WORDS:,} rarer words"
    assert note in data.summary()


def test_sessions_asking_for_the_same_new_plan_at_once_wait_for_one_generation(monkeypatch):
    """A class opening the Train page at once: one corpus generated for its plan, not one per session."""
    generated = []

    def slow_splits(config):
        generated.append(config.corpus_size)
        time.sleep(0.2)  # long enough that every session asks while the first generates
        return builtin_splits(config)

    monkeypatch.setattr(data_module, "builtin_splits", slow_splits)
    config = tiny_config(corpus_size=123, seed=98765)  # a plan no other test asks for
    with ThreadPoolExecutor(max_workers=4) as sessions:
        plans = list(sessions.map(lambda _: planned_counts(config), range(4)))
    assert generated == [123] and plans == [SplitCounts(123, config.valid_size, config.test_size)] * 4
