import json
import re
from dataclasses import replace
from pathlib import Path

import torch

from seq2seq import evaluation
from seq2seq.analysis import (
    GOOD,
    PARTLY,
    analysis_markdown,
    attention_focus,
    examples_markdown,
    peak_walk,
    write_report,
)
from seq2seq.checkpoint import load_checkpoint
from seq2seq.decoding import Reversal, Reverser
from seq2seq.evaluation import evaluate_sentences
from seq2seq.failures import FAILURE_MEANINGS
from seq2seq.metrics import evaluate_results
from seq2seq.model import Seq2Seq
from seq2seq.stress import build_suites, run_stress

REPO = Path(__file__).resolve().parents[2]


def test_the_analysis_answers_the_four_questions_with_computed_numbers(tiny_reverser):
    report = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences)
    text = analysis_markdown(tiny_reverser, report)
    for question in ("What patterns appear", "Does attention align", "How does attention help", "beginning and end"):
        assert question in text
    rate = report.evaluation.alignment["mirror_peak_rate"]
    assert f"{100 * rate:.1f}%" in text
    assert f"{report.evaluation.correct:,}/{report.evaluation.total:,}" in text


def test_the_analysis_says_who_computed_its_numbers(tiny_reverser):
    report = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences[:5])
    assert "by `python -m seq2seq report`" in analysis_markdown(tiny_reverser, report)
    live = analysis_markdown(tiny_reverser, report, live=True)
    assert "seq2seq report" not in live and "computed from the model live by the app's Analysis page" in live


def test_peak_walk_has_a_row_per_decoder_step(tiny_reverser):
    table = peak_walk(tiny_reverser, "the cat sat")
    assert len(table.splitlines()) == 2 + 4
    assert re.search(r"\| 1 \| `sat` \| 3·`sat` \|", table)


def test_ablation_results_are_quoted_when_present(tiny_reverser):
    report = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences)
    ablation = {
        "seeds": 3,
        "rows": [{"variant": "default", "test_mean": 0.99}, {"variant": "no attention", "test_mean": 0.25}],
    }
    assert "25.0%" in analysis_markdown(tiny_reverser, report, ablation)


def test_write_report_writes_every_artifact(tiny_checkpoint, tmp_path):
    lines = write_report(tiny_checkpoint, tmp_path, examples=10)
    assert lines[0].startswith("exact match: ")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["total"] > 0
    assert (tmp_path / "examples.md").read_text().count("Reference: ") == 10
    assert (tmp_path / "attention_heatmap.png").read_bytes().startswith(b"\x89PNG")
    assert "mirror position" in (tmp_path / "ANALYSIS.md").read_text()
    assert (tmp_path / "replay.gif").read_bytes().startswith(b"GIF8") and (tmp_path / "replay.html").is_file()
    assert lines[-1].endswith(f"the replay of training, {len(load_checkpoint(tiny_checkpoint).snapshots)} moments")


def test_length_note_quotes_the_worst_length_and_the_long_suite():
    from seq2seq.analysis import _length_note

    per_length = {
        "1": {"exact_match": 1.0, "correct": 4, "total": 4},
        "2": {"exact_match": 0.5, "correct": 1, "total": 2},
    }
    stress = {"seen_max_length": 10, "per_length": {"13": {"exact_match": 0.9}, "20": {"exact_match": 0.25}}}
    note = _length_note(per_length, stress)
    assert "Accuracy depends on length: the lowest test length is 2 words at 50.0% (1/2)" in note
    assert "90.0% at 13 words, 25.0% at 20 words" in note
    perfect = {"3": {"exact_match": 1.0, "correct": 1, "total": 1}, "4": {"exact_match": 1.0, "correct": 2, "total": 2}}
    assert "every test length, 3 to 4 words, is exact" in _length_note(perfect, None)


def test_length_note_names_one_length_once_and_counts_words_in_the_singular():
    from seq2seq.analysis import _length_note

    one = _length_note({"1": {"exact_match": 0.0, "correct": 0, "total": 45}}, None)
    assert one == (
        "Every test sentence has 1 word, so the test split cannot show how accuracy changes with length: "
        "0.0% exact (0/45)."
    )
    flat = {str(n): {"exact_match": 0.0, "correct": 0, "total": 5} for n in (1, 2, 3)}
    assert _length_note(flat, None) == "Accuracy does not change with length: every test length, 1 to 3 words, is 0.0%."
    mixed = {"1": {"exact_match": 0.5, "correct": 1, "total": 2}, "2": {"exact_match": 1.0, "correct": 3, "total": 3}}
    assert "the lowest test length is 1 word at 50.0% (1/2), the highest 2 words at 100.0%" in _length_note(mixed, None)


def test_a_model_without_test_sentences_gets_a_short_answer(tiny_reverser):

    assert "no test sentences" in analysis_markdown(
        tiny_reverser, evaluation.TestReport(evaluate_results([], aligns=True), [])
    )


def _untrained(trained: Reverser) -> Reverser:
    """A fresh model of the same config and vocabulary: what a run has before its first step."""
    torch.manual_seed(0)
    checkpoint = trained.checkpoint
    return Reverser(Seq2Seq(len(checkpoint.vocab), checkpoint.config).eval(), checkpoint.vocab, True, checkpoint)


def _encdec_on_two_sentences(trained: Reverser) -> tuple[Reverser, evaluation.TestReport]:
    """An untrained encoder-decoder (no attention) of ``trained``'s vocabulary, scored on "cat" and "the cat"."""
    checkpoint = trained.checkpoint
    config = checkpoint.config.replace(attention="encdec")
    plain = Reverser(
        Seq2Seq(len(checkpoint.vocab), config).eval(), checkpoint.vocab, False, replace(checkpoint, config=config)
    )
    return plain, evaluate_sentences(plain, [["cat"], ["the", "cat"]])


def test_a_model_without_attention_counts_its_lengths_in_words_and_says_who_computed_them(tiny_reverser):
    plain, report = _encdec_on_two_sentences(tiny_reverser)
    text = analysis_markdown(plain, report, live=True)
    assert "A model without attention" in text and "live by the app's Analysis page" in text
    assert "1 word " in text and "1 words" not in text and "2 words " in text


def test_a_model_without_attention_names_the_stress_lengths_apart_from_its_test_lengths(tiny_reverser):
    """The stress suite's long sentences are not test sentences: a length only the suite has is named after them."""
    plain, report = _encdec_on_two_sentences(tiny_reverser)
    stress = {"seen_max_length": 30, "per_length": {"2": {"exact_match": 0.5}, "40": {"exact_match": 0.0}}}
    text = analysis_markdown(plain, report, stress=stress)
    test_line = next(line for line in text.splitlines() if line.startswith("Exact match by test sentence length"))
    head, _, longer = test_line.partition("On longer sentences")
    assert "40 words" not in head and "2 words" in head
    assert "40 words 0.0%" in longer and "2 words" not in longer


def test_an_untrained_model_is_called_weak_and_told_where_its_attention_goes(tiny_reverser):
    weak = _untrained(tiny_reverser)
    report = evaluate_sentences(weak, weak.checkpoint.test_sentences)
    rate = report.evaluation.alignment["mirror_peak_rate"]
    assert report.evaluation.exact_match < 0.5 and rate < 0.5  # the premise: a weak model
    text = analysis_markdown(weak, report)
    assert "**This model is weak**" in text
    assert "do **not** form an anti-diagonal" in text and "form an **anti-diagonal**" not in text
    assert f"No: the peak is on the mirror position in only {100 * rate:.1f}% of steps" in text
    assert "Yes, and by **position**" not in text
    focus = attention_focus(report.results)
    assert f"on the first source word in {100 * focus['first']:.1f}% of steps" in text
    assert f"is {focus['highest']:.2f} on average" in text
    assert "attention lands on the end marker, and it emits" not in text
    assert "does not reliably" in text


def test_a_trained_model_is_described_by_the_pattern_its_numbers_show(tiny_reverser):
    """The shipped model peaks on the mirror position at every step: an anti-diagonal, aligned. The tiny model is
    exact on its test set yet peaks on the mirror in about three steps of four (on 1-4 word sentences from 12 words,
    another occurrence of the same word serves as well): "only in part", and it is not called weak."""
    shipped = Reverser.load(REPO / "artifacts" / "model.pt")
    report = evaluate_sentences(shipped, shipped.checkpoint.test_sentences[:300])
    assert report.evaluation.alignment["mirror_peak_rate"] >= GOOD  # the premise: a good model
    text = analysis_markdown(shipped, report)
    assert "form an **anti-diagonal**" in text and "Yes, and by **position**" in text
    assert "weak" not in text and "not yet reliable" not in text and "Instead, the peak falls" not in text
    assert "attention lands on the end marker, and it emits `<eos>`" in text

    report = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences)
    rate = report.evaluation.alignment["mirror_peak_rate"]
    assert 0.5 <= rate < GOOD and report.evaluation.exact_match >= GOOD  # the premise
    text = analysis_markdown(tiny_reverser, report)
    assert (
        "anti-diagonal **only in part**" in text
        and f"Partly: the peak is on the mirror position in {100 * rate:.1f}%" in text
    )
    assert "weak" not in text and "Yes, and by" not in text


def test_attention_focus_counts_where_the_peaks_fall():
    from seq2seq.decoding import Reversal

    # two source words + <eos>: steps peak on the first word, the first word again, then <eos>
    result = Reversal(["a", "b"], [True, True], ["b", "a"], ["b", "a"], [False, False],
                      [[0.8, 0.1, 0.1], [0.6, 0.2, 0.2], [0.0, 0.0, 1.0]])  # fmt: skip
    focus = attention_focus([result])
    assert focus["first"] == 2 / 3 and focus["last"] == 0 and focus["eos"] == 1 / 3
    assert abs(focus["highest"] - (0.8 + 0.6 + 1.0) / 3) < 1e-9
    assert (
        evaluate_results([result], aligns=True).alignment["mirror_peak_rate"] == 2 / 3
    )  # steps 2 and 3 are on their mirrors


def test_a_model_right_on_most_tokens_but_few_sentences_is_called_weak(tiny_reverser):
    """Exact match decides the verdict, not token accuracy: a report with 40% of sentences exact and 97% of tokens
    right (long sentences each off by a word) is weak."""
    from dataclasses import replace

    report = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences)
    total = report.evaluation.total
    graded = replace(report.evaluation, exact_match=0.4, correct=round(0.4 * total), token_accuracy=0.97)
    assert graded.exact_match < PARTLY and graded.token_accuracy > GOOD  # the premise
    text = analysis_markdown(tiny_reverser, replace(report, evaluation=graded))
    assert "**This model is weak**: it reverses only 40.0% of its test sentences" in text
    assert "not yet reliable" not in text


def test_examples_markdown_uses_the_example_format():
    example = Reversal(["a", "b"], [True, True], ["b", "a"], ["b", "a"], [False, False], [])
    text = examples_markdown([example])
    assert 'Input: "a b"\nOutput: "b a"\nReference: "b a"\nmatch' in text


def test_the_analysis_says_how_the_wrong_decodes_fail_by_label(tiny_reverser):
    """A weak model's text names its most common failure, counted; a model exact on its test split says it has none;
    the long sentences of a stress run get their own count."""
    weak = _untrained(tiny_reverser)
    report = evaluate_sentences(weak, weak.checkpoint.test_sentences)
    counts, total = report.evaluation.failures, report.evaluation.total
    top = max(counts, key=counts.get)
    text = analysis_markdown(weak, report)
    assert "## When it is wrong, how?" in text
    assert f"**On its test split.** {sum(counts.values()):,} of {total:,} decodes are wrong" in text
    assert f"**{top}** ({FAILURE_MEANINGS[top]})" in text
    exact = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences)
    assert exact.evaluation.correct == exact.evaluation.total  # the premise: the tiny model is exact on its split
    stress = run_stress(tiny_reverser, build_suites(tiny_reverser.checkpoint, size=20, per_length=5))
    text = analysis_markdown(tiny_reverser, exact, stress=stress)
    assert f"None of the {exact.evaluation.total:,} decodes fails" in text
    longer = [row for n, row in stress["per_length"].items() if int(n) > stress["seen_max_length"]]
    wrong = sum(row["total"] - row["correct"] for row in longer)
    assert f"**Longer than any example it trained on (5 to 8 words).** {wrong} of {5 * len(longer)}" in text
