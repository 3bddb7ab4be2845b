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
