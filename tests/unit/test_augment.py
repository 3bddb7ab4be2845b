import random

from seq2seq.augment import examples_per_epoch, training_examples
from tests.conftest import tiny_config

TRAIN = [["a", "b"], ["c", "d", "e"], ["f"]] * 10


def test_without_augmentation_targets_are_plain_reversals():
    sources, targets = training_examples(tiny_config(), TRAIN, random.Random(0))
    assert sources == TRAIN and targets == [s[::-1] for s in TRAIN]


def test_joined_pairs_are_added_and_counted():
    config = tiny_config(join_share=0.5)
    sources, targets = training_examples(config, TRAIN, random.Random(0))
    assert len(sources) == examples_per_epoch(config, len(TRAIN)) == 45
    assert max(map(len, sources)) > 3
    assert all(t == s[::-1] for s, t in zip(sources, targets, strict=True))


def test_unknown_dropout_drops_the_aligned_target_word_too():
    sources, targets = training_examples(tiny_config(unk_rate=0.3), TRAIN, random.Random(0))
    assert any("<unk>" in s for s in sources)
    assert all(t == s[::-1] for s, t in zip(sources, targets, strict=True))
    assert TRAIN[0] == ["a", "b"]  # the training sentences themselves are untouched


def test_random_sequences_use_training_words_and_lengths():
    config = tiny_config(random_extra_share=1.0)
    sources, targets = training_examples(config, TRAIN, random.Random(0))
    extra = sources[len(TRAIN) :]
    assert len(extra) == len(TRAIN)
    assert all(set(s) <= set("abcdef") and 1 <= len(s) <= 3 for s in extra)
