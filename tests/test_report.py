from seq2seq.inference import Reversal
from seq2seq.report import evaluate_sentences, examples_markdown, pick_examples


def fake(tokens, output):
    return Reversal(tokens, [True] * len(tokens), output, output, [False] * len(output), [])


def test_pick_examples_puts_mismatches_first_and_spreads_lengths():
    good = [fake(["w"] * n, ["w"] * n) for n in range(1, 21)]
    bad = [fake(["a", "b"], ["a", "b"])]
    picked = pick_examples(good + bad, 10)
    assert len(picked) == 10 and picked[0] is bad[0]
    assert len({len(r.tokens) for r in picked[1:]}) == 9


def test_examples_markdown_uses_the_example_format():
    text = examples_markdown([fake(["a", "b"], ["b", "a"])])
    assert 'Input: "a b"\nOutput: "b a"\nReference: "b a"\nmatch' in text


def test_evaluate_sentences_scores_the_stored_test_split(tiny_reverser):
    report = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences)
    assert report.evaluation.total == len(tiny_reverser.checkpoint.test_sentences)
    assert report.evaluation.exact_match == tiny_reverser.checkpoint.metrics["test"]["exact_match"]
