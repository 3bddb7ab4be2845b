"""Evaluating a checkpoint on its test split and writing the artifacts that describe it."""

from dataclasses import dataclass
from pathlib import Path

from .inference import Reversal, Reverser
from .metrics import Evaluation, evaluate_results, format_example
from .plots import write_heatmap_png

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


def examples_markdown(examples: list[Reversal]) -> str:
    blocks = "\n\n".join(format_example(r) for r in examples)
    return f"# Test-set examples\n\n```\n{blocks}\n```\n"


def write_showcase_heatmap(reverser: Reverser, path: str | Path, sentence: str = SHOWCASE_SENTENCE) -> str:
    result = reverser.reverse(sentence)
    return write_heatmap_png(path, result.tokens, result.output, result.attention, f'attention for "{sentence}"')
