import pytest

from seq2seq.vocab import EOS_ID, PAD_ID, SPECIALS, UNK_ID, Vocabulary


def test_specials_come_first_with_pad_at_zero():
    vocab = Vocabulary.build([["b", "a", "b"]])
    assert vocab.itos[:4] == list(SPECIALS)
    assert vocab.stoi["<pad>"] == PAD_ID == 0
    assert vocab.words == ["b", "a"]  # most frequent first


def test_unknown_tokens_encode_to_unk():
    vocab = Vocabulary.build([["a"]])
    assert vocab.encode(["a", "zebra"]) == [vocab.stoi["a"], UNK_ID]


def test_decode_stops_at_eos_and_skips_padding():
    vocab = Vocabulary.build([["a", "b"]])
    a, b = vocab.stoi["a"], vocab.stoi["b"]
    assert vocab.decode([a, PAD_ID, b, EOS_ID, a]) == ["a", "b"]


def test_build_ignores_special_tokens_in_the_data():
    assert Vocabulary.build([["<unk>", "a"]]).words == ["a"]


def test_a_vocabulary_without_the_specials_is_refused():
    with pytest.raises(ValueError):
        Vocabulary(["a", "b"])
    with pytest.raises(ValueError):
        Vocabulary([*SPECIALS, "a", "a"])


def test_build_keeps_at_most_max_words_the_most_frequent():
    vocab = Vocabulary.build([["a", "b", "b", "c", "c", "c"]], max_words=2)
    assert vocab.words == ["c", "b"] and vocab.encode(["a"]) == [UNK_ID]
