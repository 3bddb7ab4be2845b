"""Test evaluation: a model scored on a list of sentences, and the examples picked to show from the results."""

from dataclasses import dataclass

from .decoding import Reversal, Reverser
from .metrics import Evaluation, evaluate_results

SHOWCASE_SENTENCE = "the cat sat on the mat"
"""The classic example, drawn as the default heatmap: its repeated "the" shows alignment by position, not content."""


@dataclass
class TestReport:
    evaluation: Evaluation
    results: list[Reversal]


def evaluate_sentences(reverser: Reverser, sentences: list[list[str]]) -> TestReport:
    results = reverser.reverse_tokens(sentences)
    return TestReport(evaluate_results(results, reverser.model.decoder.attention.aligns), results)


def pick_examples(results: list[Reversal], count: int) -> list[Reversal]:
    """``count`` examples spread over the source lengths, mismatches first so that errors are never hidden."""
    misses = [r for r in results if not r.match]
    by_length = sorted((r for r in results if r.match), key=lambda r: len(r.tokens))
    if not by_length:
        return misses[:count]
    picked = misses[: count // 2]
    stride = max(1, len(by_length) // max(1, count - len(picked)))
    picked += by_length[::stride][: count - len(picked)]
    return picked
