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


@pytest.mark.parametrize("attention", ["none", "encdec", "additive"])
def test_the_unk_copy_step_needs_an_attention_peak(attention):
    """A model that says <unk> has it replaced by the word it looked at; one without attention has nowhere it looked,
    so its <unk> stays (the mean context would otherwise copy the first word every time)."""
    import torch

    from seq2seq.config import Config
    from seq2seq.model import Seq2Seq
    from seq2seq.vocab import EOS_ID, UNK_ID, Vocabulary

    vocab = Vocabulary.build([["the", "cat"]])
    model = Seq2Seq(len(vocab), Config(embedding_size=8, hidden_size=8, attention_size=8, attention=attention)).eval()
    with torch.no_grad():  # always say <unk>, then <eos> once it has seen <unk> as its previous word
        model.decoder.output.bias.fill_(-50.0)
        model.decoder.output.bias[UNK_ID] = 50.0
    result = Reverser(model, vocab).reverse("the zebra")
    assert set(result.raw_output) == {"<unk>"} and EOS_ID not in result.raw_output
    if attention == "additive":  # each <unk> becomes the word at its step's attention peak
        assert (result.output, result.copied) == copy_unknowns(result.tokens, result.raw_output, result.attention)
    else:  # fixed weights: uniform (whose first peak is "the") or one-hot on the source's <eos>
        assert result.output == result.raw_output and not any(result.copied)
