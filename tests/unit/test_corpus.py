import os

import pytest

from seq2seq.config import Config
from seq2seq.corpus import (
    MAX_CORPUS_BYTES,
    builtin_splits,
    generate_corpus,
    read_corpus_file,
    read_corpus_text,
    split_corpus,
)
from seq2seq.tokenize import InputError


def test_generated_corpus_is_distinct_seeded_and_spans_the_lengths():
    sentences = generate_corpus(3000, 1, 15, 0.25, seed=4)
    assert len({tuple(s) for s in sentences}) == len(sentences) == 3000
    assert generate_corpus(3000, 1, 15, 0.25, seed=4) == sentences
    lengths = [len(s) for s in sentences]
    assert min(lengths) == 1 and max(lengths) == 15
    counts = [lengths.count(n) for n in range(3, 16)]
    assert max(counts) < 1.5 * min(counts)  # roughly uniform where distinct sentences are plentiful


def test_builtin_splits_share_no_sentence():
    splits = builtin_splits(Config(corpus_size=2000, valid_size=200, test_size=200))
    train, valid, test = ({tuple(s) for s in part} for part in (splits.train, splits.valid, splits.test))
    assert len(valid) == len(test) == 200
    assert not (train & valid or train & test or valid & test)


def test_bad_lines_are_skipped_and_counted():
    data = b"The cat sat.\n\n   \n" + b"\xff\xfe bad\n" + ("x " * 300).encode() + b"\ndogs bark\n"
    sentences, report = read_corpus_text(data)
    assert sentences == [["the", "cat", "sat", "."], ["dogs", "bark"]]
    assert report.skipped == {"empty lines": 2, "lines that are not UTF-8": 1, "over-long lines": 1}
    assert "skipped 2 empty lines" in report.summary()


@pytest.mark.parametrize(
    "data, message",
    [(b"", "empty"), (b"\n \n", "empty"), (b"\x00\x01\x02binary", "binary"), (b"\xff\xfe\n\xfe\n", "no usable")],
)
def test_unusable_corpora_are_clear_errors(data, message):
    with pytest.raises(InputError, match=message):
        read_corpus_text(data)


def test_missing_and_oversized_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_corpus_file(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="limit"):
        read_corpus_text(b"a\n" * (MAX_CORPUS_BYTES // 2 + 1))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: path.mkdir(), "is a folder, not a corpus file"),
        (lambda path: os.mkfifo(path), "is not a regular file"),  # never opened: a FIFO with no writer would block
    ],
    ids=["folder", "fifo"],
)
def test_a_folder_or_fifo_given_as_a_corpus_is_named_for_what_it_is(tmp_path, make, message):
    make(tmp_path / "corpus.txt")
    with pytest.raises(InputError, match=message):
        read_corpus_file(tmp_path / "corpus.txt")


def test_split_drops_duplicates_and_refuses_tiny_corpora():
    sentences = [["s", str(i)] for i in range(100)] * 3
    splits = split_corpus(sentences, valid_size=10, test_size=10, seed=0)
    assert len(splits.train) + len(splits.valid) + len(splits.test) == 100
    with pytest.raises(InputError, match="distinct"):
        split_corpus([["same"]] * 1000, 10, 10, 0)


def test_small_corpora_get_proportional_splits():
    splits = split_corpus([["w", str(i)] for i in range(60)], valid_size=1000, test_size=1000, seed=0)
    assert len(splits.valid) == len(splits.test) == 6 and len(splits.train) == 48


def test_a_single_ten_megabyte_line_is_skipped_not_tokenized():
    with pytest.raises(InputError, match="no usable sentence.*over-long"):
        read_corpus_text(b"word " * 2_000_000)


def test_all_identical_lines_cannot_be_split():
    sentences, report = read_corpus_text(b"the cat sat\n" * 5000)
    assert report.kept == 5000
    with pytest.raises(InputError, match="1 distinct"):
        split_corpus(sentences, 100, 100, 0)


def test_equal_words_of_a_corpus_file_are_one_shared_string():
    sentences, _ = read_corpus_text(b"the cat sat\nthe dog sat on the mat\n")
    the = [token for sentence in sentences for token in sentence if token == "the"]
    sat = [token for sentence in sentences for token in sentence if token == "sat"]
    assert len(the) == 3 and all(token is the[0] for token in the)
    assert len(sat) == 2 and sat[0] is sat[1]
