"""Failure anatomy: what went wrong in a wrong decode, named from its tokens and its attention.

Every wrong decode gets exactly one label; a correct one gets none. The label names the *first* thing that went
wrong, in this order of precedence:

1. ``attention drifted``: the model attends (``Attention.aligns``) and the first step whose attention peak left the
   mirror position (``first_slip``) comes before the first wrong token: it lost its place while its words were still
   right (say, on the other occurrence of a repeated word), and they went wrong later. A model without attention
   never gets this label: its weights are no alignment.
2. Otherwise the first wrong step (``first_error``) says what the words did there, whatever the attention did at
   that same step (a skip is read from the word skipped to; a stop may look at the source's ``<eos>``):

   - ``stopped early``: the output ended (said ``<eos>``) while the reference went on;
   - ``ran long``: the whole reference was said, and then more words;
   - ``skipped a word``: the word said is the reference's next one, as if one was jumped over;
   - ``repeated a word``: the word said is the one just due before it (the previous reference word) again;
   - ``wrong word``: any other word at that place.
"""

from collections.abc import Iterable
from typing import Literal, get_args

from .decoding import Reversal

Failure = Literal["attention drifted", "stopped early", "ran long", "skipped a word", "repeated a word", "wrong word"]
FAILURES: tuple[Failure, ...] = get_args(Failure)  # in order of precedence

FAILURE_MEANINGS: dict[Failure, str] = {
    "attention drifted": "its attention peak left the mirror position while its words were still right",
    "stopped early": "it ended the sentence before the whole reversal was written",
    "ran long": "it wrote the whole reversal and then more words",
    "skipped a word": "it wrote the next word instead of the one due, skipping one",
    "repeated a word": "it wrote the word just due before again",
    "wrong word": "it wrote another word at the right place",
}


def mirror_position(step: int, source_length: int) -> int:
    """The source position that decoder step ``step`` should copy: the mirror of the step, or the source's
    ``<eos>`` (position ``source_length``) at the final ``<eos>`` step."""
    return source_length - 1 - step if step < source_length else source_length


def first_slip(result: Reversal) -> int | None:
    """The first decoder step (0-based) among the source's length whose attention peak is not the mirror position,
    or None."""
    n = len(result.tokens)
    for step, weights in enumerate(result.attention[:n]):
        if max(range(len(weights)), key=weights.__getitem__) != mirror_position(step, n):
            return step
    return None


def first_error(result: Reversal) -> int | None:
    """The first output step (0-based) that differs from the reference, a missing or extra word included; None when
    the output is the reference."""
    for step, (said, wanted) in enumerate(zip(result.output, result.reference, strict=False)):
        if said != wanted:
            return step
    return None if len(result.output) == len(result.reference) else min(len(result.output), len(result.reference))


def failure_label(result: Reversal, aligns: bool) -> Failure | None:
    """The one label of a wrong decode (see the module's text for the precedence), or None for a correct one.
    ``aligns``: whether the model's weights are an alignment (``Attention.aligns``)."""
    error = first_error(result)
    if error is None:
        return None
    slip = first_slip(result) if aligns else None
    if slip is not None and slip < error:
        return "attention drifted"
    output, reference = result.output, result.reference
    if error == len(output):
        return "stopped early"
    if error == len(reference):
        return "ran long"
    if error + 1 < len(reference) and output[error] == reference[error + 1]:
        return "skipped a word"
    if error > 0 and output[error] == reference[error - 1]:
        return "repeated a word"
    return "wrong word"


def failure_counts(results: Iterable[Reversal], aligns: bool) -> dict[Failure, int]:
    """How many decodes got each label, every label present (0 when none), in order of precedence."""
    counts = dict.fromkeys(FAILURES, 0)
    for result in results:
        label = failure_label(result, aligns)
        if label is not None:
            counts[label] += 1
    return counts


def counts_text(counts: dict[str, int]) -> str:
    """ "stopped early 3, wrong word 1": the nonzero counts in order of precedence ("" when there are none)."""
    return ", ".join(f"{label} {count:,}" for label, count in counts.items() if count)


def failures_text(counts: dict[str, int], total: int) -> str:
    """One sentence: how many of ``total`` decodes failed, and how, most common first (computed from ``counts``)."""
    failed = sum(counts.values())
    if not failed:
        return f"None of the {total:,} decodes fails, so there is no failure to label."
    ranked = sorted((item for item in counts.items() if item[1]), key=lambda item: -item[1])
    head, top = ranked[0]
    how = f"**{head}** ({FAILURE_MEANINGS[head]})"
    if top == failed:
        return f"{failed:,} of {total:,} decodes are wrong, every one of them the same way: {how}."
    lead = "most of them" if top > failed / 2 else "most often"
    parts = "; ".join(f"{label} {count:,} ({100 * count / failed:.1f}%)" for label, count in ranked)
    return f"{failed:,} of {total:,} decodes are wrong, {lead} this way: {how}. All of them by label: {parts}."
