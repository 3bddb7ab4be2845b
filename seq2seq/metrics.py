"""How well a model reverses, and how its attention lines up with the mirror positions."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .decoding import Reversal
from .failures import Failure, failure_counts, mirror_position

GOOD = 0.95
"""The share above which the analysis calls a pattern by its name: an anti-diagonal, aligned, found reliably (and from
which the replay says alignment has emerged)."""

PARTLY = 0.5
"""The share from which a pattern is "partly" there; below it the analysis says it is not."""

NO_ALIGNMENT = (
    "this model has no attention: its weights only pick one fixed context for every step, so there is no alignment"
)


@dataclass
class Evaluation:
    exact_match: float
    correct: int
    total: int
    token_accuracy: float
    per_length: dict[str, dict]  # {"5": {"exact_match": .., "correct": .., "total": ..}}, keyed by source length
    alignment: dict[str, float | None] | None = field(default_factory=dict)  # None: the model does not attend
    failures: dict[Failure, int] = field(default_factory=dict)  # wrong decodes per label (seq2seq.failures)

    def to_dict(self) -> dict:
        return {
            "exact_match": self.exact_match,
            "correct": self.correct,
            "total": self.total,
            "token_accuracy": self.token_accuracy,
            "per_length": self.per_length,
            "alignment": self.alignment,
            "failures": self.failures,
        } | ({} if self.alignment is not None else {"alignment_note": NO_ALIGNMENT})

    def summary(self) -> str:
        return f"exact match: {self.exact_match:.4f} ({self.correct}/{self.total})"


def token_matches(output: Sequence[str], reference: Sequence[str]) -> tuple[int, int]:
    """(positions where output and reference agree, positions compared): a missing or extra token is an error."""
    return sum(a == b for a, b in zip(output, reference, strict=False)), max(len(output), len(reference))


def by_length(results: Sequence[Reversal]) -> dict[int, list[Reversal]]:
    """The results grouped by source length, shortest first."""
    table: dict[int, list[Reversal]] = {}
    for r in results:
        table.setdefault(len(r.tokens), []).append(r)
    return dict(sorted(table.items()))


def per_length_accuracy(results: Sequence[Reversal], aligns: bool) -> dict[str, dict]:
    """Per source length: exact match, correct, total, and the wrong decodes per failure label (``aligns``: whether
    the model's weights are an alignment, which "attention drifted" needs)."""
    rows = {}
    for length, group in by_length(results).items():
        correct = sum(r.match for r in group)
        rows[str(length)] = {
            "exact_match": correct / len(group),
            "correct": correct,
            "total": len(group),
            "failures": failure_counts(group, aligns),
        }
    return rows


def entropy(weights: Sequence[float]) -> float:
    return -sum(w * math.log(w) for w in weights if w > 0)


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal, or "n/a"."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def alignment_metrics(
    pairs: Iterable[tuple[Sequence[str], Sequence[Sequence[float]]]],
) -> dict[str, float | None]:
    """Attention statistics over the decoder steps of (source tokens, attention) pairs, one per sentence (steps past
    the source's length are left out).

    - ``mirror_peak_rate``: share of steps whose highest weight is on the mirror position; the same restricted to the
      first output word (``_first``), the last one (``_last_word``), the final ``<eos>`` step (``_eos``), and steps
      whose reference word occurs more than once in the source (``_repeated``), where content alone cannot tell
      which occurrence to copy;
    - ``mirror_mass``: mean weight on the mirror position;
    - ``entropy_first`` / ``entropy_middle`` / ``entropy_last``: mean attention entropy (nats) at the first output
      word, the middle one, and the final ``<eos>`` step; ``entropy_uniform`` is that of uniform attention over the
      same sources, for scale.

    A statistic with no step to average over (say, no repeated words) is None.
    """
    hits: dict[str, list[float]] = {k: [] for k in ("all", "first", "last_word", "eos", "repeated")}
    mass: list[float] = []
    entropies: dict[str, list[float]] = {k: [] for k in ("first", "middle", "last", "uniform")}
    for tokens, attention in pairs:
        n = len(tokens)
        rows = attention[: n + 1]
        for step, weights in enumerate(rows):
            mirror = mirror_position(step, n)
            hit = float(max(range(len(weights)), key=weights.__getitem__) == mirror)
            hits["all"].append(hit)
            mass.append(weights[mirror])
            if step == 0 and n > 0:
                hits["first"].append(hit)
            if step == n - 1:
                hits["last_word"].append(hit)
            if step == n:
                hits["eos"].append(hit)
            if step < n and tokens.count(tokens[mirror]) > 1:
                hits["repeated"].append(hit)
        if len(rows) == n + 1:
            entropies["first"].append(entropy(rows[0]))
            entropies["middle"].append(entropy(rows[n // 2]))
            entropies["last"].append(entropy(rows[n]))
            entropies["uniform"].append(math.log(n + 1))
    return {
        "mirror_peak_rate": _mean(hits["all"]),
        "mirror_peak_first": _mean(hits["first"]),
        "mirror_peak_last_word": _mean(hits["last_word"]),
        "mirror_peak_eos": _mean(hits["eos"]),
        "mirror_peak_repeated": _mean(hits["repeated"]),
        "repeated_steps": len(hits["repeated"]),
        "mirror_mass": _mean(mass),
        "entropy_first": _mean(entropies["first"]),
        "entropy_middle": _mean(entropies["middle"]),
        "entropy_last": _mean(entropies["last"]),
        "entropy_uniform": _mean(entropies["uniform"]),
        "steps": len(hits["all"]),
    }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def evaluate_results(results: Sequence[Reversal], aligns: bool) -> Evaluation:
    """Exact match, token accuracy, per length and, for a model whose weights are an alignment (``aligns``), the
    alignment metrics; a fixed context (``Attention.aligns`` False) gets None there, and no figures to misread."""
    correct = sum(r.match for r in results)
    agree = compared = 0
    for r in results:
        a, c = token_matches(r.output, r.reference)
        agree += a
        compared += c
    total = len(results)
    return Evaluation(
        exact_match=correct / total if total else 0.0,
        correct=correct,
        total=total,
        token_accuracy=agree / compared if compared else 0.0,
        per_length=per_length_accuracy(results, aligns),
        alignment=alignment_metrics((r.tokens, r.attention) for r in results) if aligns else None,
        failures=failure_counts(results, aligns),
    )


def format_example(result: Reversal) -> str:
    """The block every example is printed in: Input / Output / Reference / match."""
    return (
        f'Input: "{" ".join(result.tokens)}"\n'
        f'Output: "{" ".join(result.output)}"\n'
        f'Reference: "{" ".join(result.reference)}"\n'
        f"{'match' if result.match else 'no match'}"
    )
