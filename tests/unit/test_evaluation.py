from seq2seq.decoding import Reversal
from seq2seq.evaluation import evaluate_sentences, pick_examples


def fake(tokens, output):
    return Reversal(tokens, [True] * len(tokens), output, output, [False] * len(output), [])


def test_pick_examples_puts_mismatches_first_and_spreads_lengths():
    good = [fake(["w"] * n, ["w"] * n) for n in range(1, 21)]
    bad = [fake(["a", "b"], ["a", "b"])]
    picked = pick_examples(good + bad, 10)
    assert len(picked) == 10 and picked[0] is bad[0]
    assert len({len(r.tokens) for r in picked[1:]}) == 9


def test_evaluate_sentences_counts_what_the_model_said(tiny_reverser):
    """Scored against a count made here: the output compared with the reversed sentence. Sentences with a word the
    model cannot know are certain misses without the copy step, so the count has both hits and misses."""
    plain = tiny_reverser.with_copy(False)
    sentences = [*tiny_reverser.checkpoint.test_sentences[:20], ["the", "zebra"], ["a", "quokka", "sat"]]
    report = evaluate_sentences(plain, sentences)
    assert [r.tokens for r in report.results] == sentences
    hits = [r.output == s[::-1] for r, s in zip(report.results, sentences, strict=True)]
    assert hits[-2:] == [False, False] and sum(hits) >= 15
    assert (report.evaluation.correct, report.evaluation.total) == (sum(hits), len(sentences))
    assert report.evaluation.exact_match == sum(hits) / len(sentences)
