"""What every lesson is made of: a step asks one question (its answer space: a few options), scores the answer, and
reveals what the model actually does, with the figure it comes from and a text whose every number is computed from
the model when the step is asked (``Question``, made by ``Step.ask`` from the ``Models`` at hand).

A step computes its question and its reveal together, before the learner answers: the answer only picks which
verdict to show, so the reveal costs nothing once the question is on screen. When the model does not do what a
lesson expects (a weak or untrained model), the reveal says so: it is computed from what the model did.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import plotly.graph_objects as go

from .. import attention
from ..decoding import Reversal, Reverser
from ..evaluation import SHOWCASE_SENTENCE
from ..stress import trained_lengths
from ..tokenize import tokenize

HALF = 0.5  # points for an answer one option away from the truth, when the options are in order
FAILS_BELOW = 0.9
"""A model "fails" at a length when fewer than 9 in 10 sentences of that length come back exactly reversed."""
CURVE_SENTENCES = 10  # sentences per length in a length curve
SAMPLE = 200  # test sentences a step measures over


@dataclass(frozen=True)
class Models:
    """The models a lesson may use: the learner's active one, and the shipped ones (Compare's models)."""

    active: Reverser
    shipped: tuple[Reverser, ...] = ()

    def of_kind(self, kind: str) -> Reverser | None:
        """A shipped model of that attention kind (the active one first, if it is of that kind), or None."""
        return next((r for r in (self.active, *self.shipped) if r.checkpoint and kind_of(r) == kind), None)


@dataclass(frozen=True)
class Question:
    """One step's question and, computed with it, the truth and the reveal. ``options`` empty: the step cannot be
    asked of these models, and ``reveal`` says why. ``ordered``: the options lie on a scale, and one next to the
    truth scores half a point. ``expected``: whether the model did what the lesson expects."""

    prompt: str
    options: tuple[str, ...]
    truth: str
    reveal: str
    figures: tuple[go.Figure, ...] = ()
    ordered: bool = False
    expected: bool = True


@dataclass(frozen=True)
class Step:
    title: str
    ask: Callable[[Models], Question]


@dataclass(frozen=True)
class Lesson:
    title: str
    intro: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


def score(question: Question, answer: str) -> float:
    """Points for an answer: 1 for the truth, ``HALF`` for an option next to it on an ordered scale, else 0.
    ValueError for an answer that is not one of the options."""
    if answer not in question.options:
        raise ValueError(f"{answer!r} is not one of this step's answers")
    if answer == question.truth:
        return 1.0
    if question.ordered and abs(question.options.index(answer) - question.options.index(question.truth)) == 1:
        return HALF
    return 0.0


def verdict(question: Question, answer: str) -> str:
    """One line on the answer: right, close or not, and what the model did."""
    points = score(question, answer)
    if points == 1.0:
        return f"Right: {question.truth}. One point."
    if points:
        return f"Close: you said {answer}; the model's answer is {question.truth}. Half a point."
    return f"Not this time: you said {answer}; the model's answer is {question.truth}. No point."


def not_asked(prompt: str, why: str) -> Question:
    """A step these models cannot answer: no options, and why."""
    return Question(prompt, (), "", why, expected=False)


# ------------------------------------------------------------------------------------------------- shared helpers
def kind_of(reverser: Reverser) -> str:
    return reverser.checkpoint.config.attention if reverser.checkpoint else "unknown"


def kind_name(reverser: Reverser) -> str:
    return attention.kind_name(reverser.checkpoint.config) if reverser.checkpoint else "unknown"


def lesson_sentence(reverser: Reverser) -> list[str]:
    """The sentence a lesson shows: the classic one when the model knows its words, else a test sentence of four
    words or more (the longest, when none is that long)."""
    showcase = tokenize(SHOWCASE_SENTENCE)
    if all(word in reverser.vocab for word in showcase):
        return showcase
    tests = sorted((list(s) for s in reverser.checkpoint.test_sentences if s), key=lambda s: (len(s), s))
    return next((s for s in tests if len(s) >= 4), tests[-1] if tests else showcase)


def sentence_of_length(reverser: Reverser, length: int, seed: int = 0) -> list[str]:
    """A sentence of ``length`` words from the model's own test split: one of that length, else test sentences
    joined and cut to it (the stress suites' long sentences are made the same way)."""
    tests = [list(s) for s in reverser.checkpoint.test_sentences if s]
    exact = sorted(s for s in tests if len(s) == length)
    if exact:
        return exact[seed % len(exact)]
    rng = random.Random(seed)
    words: list[str] = []
    while len(words) < length:
        words += rng.choice(tests) if tests else ["the"]
    return words[:length]


@lru_cache(maxsize=16)
def decoded(reverser: Reverser, tokens: tuple[str, ...]) -> Reversal:
    """One sentence through the model with its steps recorded, once per model and sentence."""
    return reverser.reverse_tokens([list(tokens)], record=True)[0]


@lru_cache(maxsize=16)
def test_sample(reverser: Reverser) -> tuple[Reversal, ...]:
    """The first ``SAMPLE`` test sentences through the model, once per model."""
    return tuple(reverser.reverse_tokens([list(s) for s in reverser.checkpoint.test_sentences[:SAMPLE] if s]))


def curve_lengths(reverser: Reverser) -> list[int]:
    """The lengths a length curve measures: about a dozen, from 1 to twice the longest example trained on."""
    seen = trained_lengths(reverser.checkpoint)[1]
    stride = max(1, round(2 * seen / 12))
    return sorted({1, *range(stride, 2 * seen + 1, stride), seen, 2 * seen})


@lru_cache(maxsize=16)
def length_curve(reverser: Reverser) -> dict[int, float]:
    """Exact match per length (``curve_lengths``), over ``CURVE_SENTENCES`` sentences of each length."""
    lengths = curve_lengths(reverser)
    sentences = [sentence_of_length(reverser, n, seed) for n in lengths for seed in range(CURVE_SENTENCES)]
    results = reverser.reverse_tokens(sentences)
    return {
        n: sum(r.match for r in results[i * CURVE_SENTENCES : (i + 1) * CURVE_SENTENCES]) / CURVE_SENTENCES
        for i, n in enumerate(lengths)
    }


def first_failing_length(curve: dict[int, float]) -> int | None:
    """The shortest length at which the model fails (``FAILS_BELOW``), or None when it never does."""
    return next((n for n in sorted(curve) if curve[n] < FAILS_BELOW), None)


def peak(weights: Sequence[float]) -> int:
    return max(range(len(weights)), key=weights.__getitem__)
