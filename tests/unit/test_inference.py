import pytest
import torch

from seq2seq.checkpoint import load_checkpoint
from seq2seq.inference import Reverser, copy_unknowns
from seq2seq.tokenize import InputError
from seq2seq.vocab import UNK_ID


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


def unk_speaking_reverser(tiny_checkpoint, copy_unknown: bool) -> Reverser:
    """The tiny model with its output bias set so that it says ``<unk>`` at every step (and never ``<eos>``)."""
    reverser = Reverser.load(tiny_checkpoint, copy_unknown=copy_unknown)
    with torch.no_grad():
        reverser.model.decoder.output.bias.fill_(-1e4)
        reverser.model.decoder.output.bias[UNK_ID] = 1e4
    return reverser


def test_reverser_replaces_each_unk_with_the_source_word_at_that_steps_attention_peak(tiny_checkpoint):
    tokens = ["the", "cat", "sat", "on", "mat"]
    result = unk_speaking_reverser(tiny_checkpoint, copy_unknown=True).reverse(" ".join(tokens))
    assert result.raw_output == ["<unk>"] * len(result.raw_output) and len(result.raw_output) > len(tokens)
    peaks = [max(range(len(row)), key=row.__getitem__) for row in result.attention[: len(result.raw_output)]]
    assert result.output == [tokens[p] if p < len(tokens) else "<unk>" for p in peaks]
    assert result.copied == [p < len(tokens) for p in peaks] and any(result.copied)
    assert len(set(peaks)) > 1  # the peaks move, so copying from the wrong step would give other words


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


def test_plain_mode_keeps_unk(tiny_checkpoint):
    plain = unk_speaking_reverser(tiny_checkpoint, copy_unknown=False)
    result = plain.reverse("the cat sat")
    assert result.output == result.raw_output == ["<unk>"] * len(result.raw_output)
    assert not any(result.copied)
    assert plain.with_copy(True).reverse("the cat sat").output != result.output  # the same model, copying


def test_by_default_a_reverser_copies_and_keeps_its_checkpoint(tiny_checkpoint):
    """Loading, building from a checkpoint and constructing all copy unknown words unless told not to, and a
    reverser made from a checkpoint (or switched with ``with_copy``) still carries that checkpoint."""
    checkpoint = load_checkpoint(tiny_checkpoint)
    built = Reverser.from_checkpoint(checkpoint)
    assert built.checkpoint is checkpoint and built.with_copy(False).checkpoint is checkpoint
    for reverser in (Reverser.load(tiny_checkpoint), built, Reverser(built.model, built.vocab)):
        with torch.no_grad():
            reverser.model.decoder.output.bias.fill_(-1e4)
            reverser.model.decoder.output.bias[UNK_ID] = 1e4
        assert any(reverser.reverse("the cat sat").copied)
    plain = Reverser.load(tiny_checkpoint).with_copy(False)
    assert plain.checkpoint is not None and not plain.copy_unknown
