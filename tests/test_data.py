from seq2seq.data import load_run_data

from .conftest import tiny_config, write_tiny_corpus


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


def test_the_data_summary_counts_each_split_and_the_vocabulary(tiny_corpus):
    from seq2seq.data import load_run_data
    from tests.conftest import tiny_config

    data = load_run_data(tiny_config(valid_size=10, test_size=20), tiny_corpus)
    train = len(data.splits.train)
    assert data.summary() == f"{train:,} train / 10 valid / 20 test sentences, vocabulary {len(data.vocab)}"
