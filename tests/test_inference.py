import pytest

from seq2seq.inference import Reverser, copy_unknowns
from seq2seq.tokenize import InputError


def test_reverses_a_typed_sentence(tiny_reverser):
    result = tiny_reverser.reverse("The cat sat")
    assert result.tokens == ["the", "cat", "sat"]
    assert result.output == ["sat", "cat", "the"] and result.match
    assert len(result.attention) == 4 and len(result.attention[0]) == 4


def test_batched_results_come_back_in_input_order(tiny_reverser):
    sentences = [["dog"], ["the", "big", "red", "cat"], ["a", "bird"], ["sat", "on", "mat"]]
    results = tiny_reverser.reverse_tokens(sentences, batch_size=3)
    assert [r.tokens for r in results] == sentences
    assert [r.output for r in results] == [s[::-1] for s in sentences]


def test_empty_input_is_refused(tiny_reverser):
    with pytest.raises(InputError):
        tiny_reverser.reverse("  ")


def test_unknown_words_are_flagged(tiny_reverser):
    result = tiny_reverser.reverse("the zebra sat")
    assert result.known == [True, False, True]


def test_copy_unknowns_takes_the_source_token_at_the_attention_peak():
    output, copied = copy_unknowns(
        ["the", "zebra", "sat"],
        ["sat", "<unk>", "the"],
        [[0, 0, 1, 0], [0.1, 0.8, 0.1, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
    )
    assert output == ["sat", "zebra", "the"] and copied == [False, True, False]


def test_an_unk_attending_to_eos_stays_unk():
    output, copied = copy_unknowns(["a"], ["<unk>"], [[0.2, 0.8], [0, 1]])
    assert output == ["<unk>"] and copied == [False]


def test_plain_mode_keeps_unk(tiny_checkpoint):
    reverser = Reverser.load(tiny_checkpoint, copy_unknown=False)
    assert reverser.with_copy(True).copy_unknown and not reverser.copy_unknown
