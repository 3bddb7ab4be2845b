import random

from seq2seq.batching import bucketed_batches, make_batch
from seq2seq.vocab import EOS_ID, PAD_ID, SOS_ID, Vocabulary


def test_make_batch_pads_and_reverses():
    vocab = Vocabulary.build([["a", "b", "c"]])
    a, b, c = (vocab.stoi[w] for w in "abc")
    batch = make_batch([["a", "b", "c"], ["a"]], vocab)
    assert batch.src.tolist() == [[a, b, c, EOS_ID], [a, EOS_ID, PAD_ID, PAD_ID]]
    assert batch.src_lengths.tolist() == [4, 2]
    assert batch.tgt_in.tolist() == [[SOS_ID, c, b, a], [SOS_ID, a, PAD_ID, PAD_ID]]
    assert batch.tgt_out.tolist() == [[c, b, a, EOS_ID], [a, EOS_ID, PAD_ID, PAD_ID]]


def test_explicit_targets_are_used():
    vocab = Vocabulary.build([["a", "b"]])
    batch = make_batch([["a", "b"]], vocab, targets=[["<unk>", "a"]])
    assert batch.tgt_out.tolist() == [[vocab.stoi["<unk>"], vocab.stoi["a"], EOS_ID]]


def test_buckets_group_equal_lengths_and_cover_every_sentence():
    rng = random.Random(0)
    sentences = [["w"] * rng.randint(1, 6) for _ in range(300)]
    vocab = Vocabulary.build(sentences)
    batches = bucketed_batches(sentences, vocab, 16, random.Random(1))
    assert sum(b.size for b in batches) == 300
    padded = sum(int((b.src_lengths != b.src.size(1)).sum()) for b in batches)
    assert padded <= 6 * 16  # only batches straddling two lengths hold any padding


def test_without_rng_the_order_is_deterministic():
    sentences = [["a"] * n for n in (3, 1, 2)]
    vocab = Vocabulary.build(sentences)
    batches = bucketed_batches(sentences, vocab, 2)
    assert [b.src_lengths.tolist() for b in batches] == [[2, 3], [4]]
