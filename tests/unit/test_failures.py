"""Failure anatomy: every wrong decode gets one label, the first thing that went wrong; a correct one none."""

import pytest

from seq2seq.decoding import Reversal
from seq2seq.failures import FAILURES, failure_counts, failure_label, failures_text, first_slip
from seq2seq.metrics import evaluate_results

SOURCE = ["a", "b", "c", "d"]  # the reversal is d c b a


def decode(output: list[str], peaks: list[int] | None = None) -> Reversal:
    """A hand-built decode of SOURCE: its output and, per step (the <eos> step included), one-hot attention on
    ``peaks`` (default: the mirror position at every step)."""
    n = len(SOURCE)
    steps = len(output) + 1
    peaks = peaks if peaks is not None else [n - 1 - s if s < n else n for s in range(steps)]
    attention = [[1.0 if j == peak else 0.0 for j in range(n + 1)] for peak in peaks]
    return Reversal(SOURCE, [True] * n, output, output, [False] * len(output), attention)


@pytest.mark.parametrize(
    ("output", "label"),
    [
        (["d", "c", "b", "a"], None),
        (["d", "c"], "stopped early"),
        (["d", "c", "b", "a", "a"], "ran long"),
        (["d", "b", "a"], "skipped a word"),
        (["d", "c", "c", "a"], "repeated a word"),
        (["d", "c", "x", "a"], "wrong word"),
    ],
)
def test_each_label_names_the_first_thing_that_went_wrong(output, label):
    assert failure_label(decode(output), aligns=True) == label


def test_attention_that_left_the_mirror_before_the_first_wrong_word_is_what_drifted():
    # Step 1 looks at "a" (position 0) instead of "c" (position 2); the words go wrong at step 2.
    drifted = decode(["d", "c", "a"], peaks=[3, 0, 2, 4])
    assert first_slip(drifted) == 1
    assert failure_label(drifted, aligns=True) == "attention drifted"
    # A slip at the first wrong step is how the words went wrong there: a stop that looks at the source's <eos>.
    stop = decode(["d", "c"], peaks=[3, 2, 4])
    assert first_slip(stop) == 2 and failure_label(stop, aligns=True) == "stopped early"
    # A slip after the first wrong word did not cause it: the words' own label stands.
    late = decode(["d", "c", "x", "a"], peaks=[3, 2, 1, 2, 4])
    assert first_slip(late) == 3 and failure_label(late, aligns=True) == "wrong word"
    # A model without attention never drifts: its weights are no alignment.
    assert failure_label(drifted, aligns=False) == "skipped a word"


def test_counts_hold_every_label_and_the_text_is_computed_from_them():
    results = [decode(["d", "c"]), decode(["d", "c"]), decode(["d", "c", "x", "a"]), decode(["d", "c", "b", "a"])]
    counts = failure_counts(results, aligns=True)
    assert list(counts) == list(FAILURES)
    assert counts["stopped early"] == 2 and counts["wrong word"] == 1 and sum(counts.values()) == 3
    text = failures_text(counts, len(results))
    assert text.startswith("3 of 4 decodes are wrong, most of them this way: **stopped early**")
    assert "wrong word 1 (33.3%)" in text
    assert "every one of them" in failures_text(failure_counts(results[:2], aligns=True), 2)
    assert (
        failures_text(failure_counts(results[3:], aligns=True), 1)
        == "None of the 1 decodes fails, so there is no failure to label."
    )


def test_an_evaluation_counts_its_failures_in_total_and_per_length():
    results = [decode(["d", "c"]), decode(["d", "c", "b", "a"])]
    evaluation = evaluate_results(results, aligns=True)
    assert evaluation.failures["stopped early"] == 1
    assert evaluation.to_dict()["failures"] == evaluation.failures
    assert evaluation.per_length["4"]["failures"]["stopped early"] == 1
    assert sum(evaluation.failures.values()) == evaluation.total - evaluation.correct
