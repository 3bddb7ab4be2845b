"""Lesson 6: unknown words. A word the model never saw reaches it as ``<unk>``: what the decoder writes in its place,
where it looks when it does, and how the copy step (``decoding.copy_unknowns``) puts the word back."""

import random

from ..app.models import UNKNOWN_WORD_EXAMPLE
from ..decoding import has_attention
from ..failures import mirror_position
from ..plots import heatmap_figure, position_labels
from ..stress import made_up_words
from ..tokenize import tokenize
from ..vocab import EOS, UNK
from .core import Lesson, Models, Question, Step, decoded, lesson_sentence, peak


def _sentence(models: Models) -> tuple[list[str], int]:
    """A sentence with one word the model never saw, and that word's position: the app's "the wug sat on the mat"
    when it knows every other word, else the lesson sentence with its second word made up."""
    vocab = models.active.vocab
    example = tokenize(UNKNOWN_WORD_EXAMPLE)
    unknown = [i for i, word in enumerate(example) if word not in vocab]
    if len(unknown) == 1:
        return example, unknown[0]
    tokens = lesson_sentence(models.active)
    at = min(1, len(tokens) - 1)
    tokens = [*tokens[:at], made_up_words(1, set(vocab.words), random.Random(0))[0], *tokens[at + 1 :]]
    return tokens, at


WRITES = ("<unk>", "a word it knows", "nothing: it skips it")


def what_it_writes(models: Models) -> Question:
    tokens, at = _sentence(models)
    word = tokens[at]
    result = decoded(models.active, tuple(tokens))
    due = mirror_position(at, len(tokens))  # the output step where the unknown word belongs
    prompt = (
        f"The model never saw “{word}”: in “{' '.join(tokens)}” it reads it as <unk>. What does its decoder write "
        "where that word belongs in the reversal?"
    )
    raw = result.raw_output
    said = raw[due] if len(raw) > due else EOS
    truth = WRITES[0] if said == UNK else WRITES[2] if len(raw) < len(tokens) else WRITES[1]
    text = f"At step {due + 1} it writes “{said}”; its whole output, before any copying: “{' '.join(raw)}”."
    expected = truth == WRITES[0]
    if expected:
        text += " It has learnt to say <unk> where the input said <unk>: it cannot know the word, only where it was."
    else:
        text += " The lesson expects <unk> there: this model has not learnt to pass an unknown word through."
    figure = heatmap_figure(result.tokens, raw, result.attention)
    return Question(prompt, WRITES, truth, text, (figure,), expected=expected)


def the_copy(models: Models) -> Question:
    tokens, at = _sentence(models)
    result = decoded(models.active, tuple(tokens))
    labels = tuple(position_labels([*tokens, EOS], escape=False))
    due = mirror_position(at, len(tokens))
    prompt = (
        f"Where it should write “{tokens[at]}”, which input word does step {due + 1} look at most? The copy step "
        "puts that word in place of an <unk>."
    )
    if len(result.attention) <= due:
        return Question(prompt, labels, labels[-1], "The decode ended before that step.", expected=False)
    looked = peak(result.attention[due])
    text = (
        f"Step {due + 1} puts weight {result.attention[due][looked]:.2f} on {labels[looked]}. With the copy step its "
        f"output is “{' '.join(result.output)}”, {'exactly' if result.match else 'not'} the reversal."
    )
    copied = [word for word, flag in zip(result.output, result.copied, strict=True) if flag]
    expected = has_attention(models.active.model) and looked == at and result.match
    if expected:
        text += f" It copied {', '.join(copied)} from where it looked: attention is also a pointer into the input."
    elif not has_attention(models.active.model):
        text += " The lesson expects attention to point with: this model has none, so nothing is copied back."
    else:
        text += " The lesson expects it to look at the unknown word and copy it back; this model does not, or not here."
    figure = heatmap_figure(result.tokens, result.output, result.attention)
    return Question(prompt, labels, labels[looked], text, (figure,), ordered=True, expected=expected)


UNKNOWN_WORDS = Lesson(
    "Unknown words",
    "Predict what happens to a word the model never saw, then see the <unk> it writes and the copy that puts the word "
    "back.",
    (Step("What it writes", what_it_writes), Step("The copy", the_copy)),
)
