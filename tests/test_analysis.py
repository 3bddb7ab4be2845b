import json
import re

from seq2seq.analysis import analysis_markdown, peak_walk, write_report
from seq2seq.report import evaluate_sentences


def test_the_analysis_answers_the_four_questions_with_computed_numbers(tiny_reverser):
    report = evaluate_sentences(tiny_reverser, tiny_reverser.checkpoint.test_sentences)
    text = analysis_markdown(tiny_reverser, report.evaluation)
    for question in ("What patterns appear", "Does attention align", "How does attention help", "beginning and end"):
        assert question in text
    rate = report.evaluation.alignment["mirror_peak_rate"]
    assert f"{100 * rate:.1f}%" in text
    assert f"{report.evaluation.correct:,}/{report.evaluation.total:,}" in text


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
    assert "25.0%" in analysis_markdown(tiny_reverser, report.evaluation, ablation)


def test_write_report_writes_every_artifact(tiny_checkpoint, tmp_path):
    lines = write_report(tiny_checkpoint, tmp_path, examples=10)
    assert lines[0].startswith("exact match: ")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["total"] > 0
    assert (tmp_path / "examples.md").read_text().count("Reference: ") == 10
    assert (tmp_path / "attention_heatmap.png").read_bytes().startswith(b"\x89PNG")
    assert "mirror position" in (tmp_path / "ANALYSIS.md").read_text()


def test_length_note_quotes_the_worst_length_and_the_long_suite():
    from seq2seq.analysis import _length_note

    per_length = {
        "1": {"exact_match": 1.0, "correct": 4, "total": 4},
        "2": {"exact_match": 0.5, "correct": 1, "total": 2},
    }
    stress = {"seen_max_length": 10, "per_length": {"13": {"exact_match": 0.9}, "20": {"exact_match": 0.25}}}
    note = _length_note(per_length, stress)
    assert "lowest test length is 2 words at 50.0% (1/2)" in note
    assert "90.0% at 13 words, 25.0% at 20 words" in note
    perfect = {"3": {"exact_match": 1.0, "correct": 1, "total": 1}}
    assert "every test length, 3 to 3 words, is exact" in _length_note(perfect, None)


def test_a_model_without_test_sentences_gets_a_short_answer(tiny_reverser):
    from seq2seq.metrics import evaluate_results

    assert "no test sentences" in analysis_markdown(tiny_reverser, evaluate_results([]))
