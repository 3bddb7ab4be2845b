import math

from seq2seq.decoding import Reversal
from seq2seq.failures import FAILURES
from seq2seq.metrics import (
    alignment_metrics,
    evaluate_results,
    format_example,
    mirror_position,
    token_matches,
)


def reversal(tokens, output, attention=None):
    n = len(tokens)
    if attention is None:  # a perfect anti-diagonal, then <eos> -> <eos>
        attention = [[1.0 if j == mirror_position(i, n) else 0.0 for j in range(n + 1)] for i in range(len(output) + 1)]
    return Reversal(tokens, [True] * n, output, output, [False] * len(output), attention)


def test_mirror_position():
    assert [mirror_position(i, 3) for i in range(4)] == [2, 1, 0, 3]


def test_exact_match_per_length_and_token_accuracy():
    results = [
        reversal(["a", "b"], ["b", "a"]),
        reversal(["a", "b", "c"], ["c", "b", "a"]),
        reversal(["a", "b", "c"], ["c", "a", "b"]),
    ]
    evaluation = evaluate_results(results, aligns=True)
    assert (evaluation.correct, evaluation.total) == (2, 3)
    none, skipped = dict.fromkeys(FAILURES, 0), dict.fromkeys(FAILURES, 0) | {"skipped a word": 1}
    assert evaluation.per_length == {
        "2": {"exact_match": 1.0, "correct": 1, "total": 1, "failures": none},
        "3": {"exact_match": 0.5, "correct": 1, "total": 2, "failures": skipped},
    }
    assert evaluation.token_accuracy == (2 + 3 + 1) / 8
    assert evaluation.summary() == "exact match: 0.6667 (2/3)"


def test_missing_or_extra_tokens_count_as_errors():
    assert token_matches(["a"], ["a", "b"]) == (1, 2)
    assert token_matches(["a", "b", "c"], ["a"]) == (1, 3)


def test_alignment_of_a_perfect_anti_diagonal():
    metrics = alignment_metrics(
        [(["the", "cat", "the"], reversal(["the", "cat", "the"], ["the", "cat", "the"]).attention)]
    )
    assert metrics["mirror_peak_rate"] == metrics["mirror_mass"] == 1.0
    assert metrics["mirror_peak_first"] == metrics["mirror_peak_eos"] == 1.0
    assert metrics["repeated_steps"] == 2 and metrics["mirror_peak_repeated"] == 1.0
    assert metrics["entropy_first"] == 0.0
    assert math.isclose(metrics["entropy_uniform"], math.log(4))


def test_alignment_of_uniform_attention():
    uniform = [[0.25] * 4 for _ in range(4)]
    metrics = alignment_metrics([(["a", "b", "c"], uniform)])
    assert math.isclose(metrics["mirror_mass"], 0.25)
    assert math.isclose(metrics["entropy_middle"], math.log(4))
    assert metrics["mirror_peak_repeated"] is None


def test_example_format():
    assert format_example(reversal(["the", "cat", "sat"], ["sat", "cat", "the"])) == (
        'Input: "the cat sat"\nOutput: "sat cat the"\nReference: "sat cat the"\nmatch'
    )
    assert format_example(reversal(["a", "b"], ["a", "b"])).endswith("\nno match")


def test_exact_match_is_whole_sequence_equality():
    """An extra trailing word, a missing word or one word wrong is a miss, however many tokens agree."""
    results = [
        reversal(["a", "b"], ["b", "a"]),
        reversal(["a", "b"], ["b", "a", "a"]),  # the reference, then one word too many
        reversal(["a", "b", "c"], ["c", "b"]),  # a prefix of the reference
        reversal(["a", "b", "c"], ["c", "b", "b"]),
    ]
    assert [r.match for r in results] == [True, False, False, False]
    evaluation = evaluate_results(results, aligns=True)
    assert (evaluation.correct, evaluation.total, evaluation.exact_match) == (1, 4, 0.25)
    assert evaluation.token_accuracy == (2 + 2 + 2 + 2) / (2 + 3 + 3 + 3)


def test_evaluation_carries_the_alignment_and_an_empty_set_scores_zero():
    evaluation = evaluate_results([reversal(["a", "b", "c"], ["c", "b", "a"])], aligns=True)
    assert evaluation.alignment["mirror_peak_rate"] == 1.0 and evaluation.alignment["steps"] == 4
    empty = evaluate_results([], aligns=True)
    assert (empty.exact_match, empty.token_accuracy, empty.total) == (0.0, 0.0, 0)
