"""What the pages show: tables, filters, figures and labels, all plain data and escaped text."""

import pytest

from seq2seq.app.views import (
    ablation_table,
    alignment_rows,
    example_rows,
    filter_rows,
    filtered_accuracy,
    markdown_escape,
    output_rows,
    per_length_figure,
    result_figure,
    snapshot_alignment,
    snapshot_figure,
    snapshot_label,
    status_text,
    token_rows,
    training_figure,
    unknown_words,
    watched_index,
)
from seq2seq.inference import Reversal

GOOD = Reversal(["a", "b"], [True, True], ["b", "a"], ["b", "a"], [False, False], [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
BAD = Reversal(["x", "y", "z"], [True, False, True], ["z", "y", "y"], ["z", "<unk>", "y"], [False, True, False], [])


def test_token_and_output_rows_flag_unknown_and_copied_words():
    assert [r["in vocabulary"] for r in token_rows(BAD)] == ["yes", "UNKNOWN: seen as <unk>", "yes"]
    assert unknown_words(BAD) == ["y"]
    assert [bool(r["copied"]) for r in output_rows(BAD)] == [False, True, False]
    assert [r["position"] for r in output_rows(BAD)] == [1, 2, 3]


def test_example_rows_and_filters():
    rows = example_rows([GOOD, BAD])
    assert rows[0] == {"#": 1, "input": "a b", "output": "b a", "reference": "b a", "length": 2, "match": True}
    assert rows[1]["match"] is False and rows[1]["reference"] == "z y x"
    assert filter_rows(rows, "match") == rows[:1]
    assert filter_rows(rows, "no match") == rows[1:]
    assert filter_rows(rows, "all", (3, 5)) == rows[1:]
    assert filter_rows(rows, "all", (4, 5)) == []
    assert filtered_accuracy(rows) == (0.5, 1, 2) and filtered_accuracy([]) == (None, 0, 0)
    with pytest.raises(ValueError, match="match filter"):
        filter_rows(rows, "maybe")


def test_per_length_figure_has_explicit_template():
    figure = per_length_figure(
        {"2": {"exact_match": 1.0, "correct": 1, "total": 1}, "10": {"exact_match": 0.5, "correct": 1, "total": 2}}
    )
    assert figure.layout.template.layout.paper_bgcolor is not None  # an explicit template, not Streamlit's
    assert list(figure.data[0].x) == [2, 10] and list(figure.data[0].y) == [100.0, 50.0]


def test_training_figure_traces():
    batches = [{"step": i, "train_loss": 1 / i, "grad_norm": 0.5} for i in range(1, 11)]
    history = [{"step": 5, "train_loss": 0.3, "valid_loss": 0.4, "valid_exact_match": 0.5}]
    figure = training_figure(batches, history, total_steps=20)
    names = [trace.name for trace in figure.data]
    assert names == ["train loss (batches)", "train loss", "valid loss", "valid exact match (%)", "gradient norm"]
    assert len(figure.data[0].x) == 10 and list(figure.data[3].y) == [50.0]
    assert figure.layout.uirevision == "training"
    assert training_figure([], [], None).data[0].x in (None, ())


def test_snapshot_helpers():
    snapshot = {
        "epoch": 2,
        "step": 40,
        "examples": [{"tokens": ["a", "b"], "output": ["b", "a"], "attention": GOOD.attention}],
    }
    assert snapshot_label(snapshot) == "epoch 2 · step 40"
    assert snapshot_figure(snapshot, 5) is None and snapshot_alignment(snapshot, 5) is None
    assert snapshot_figure(snapshot, 0, "at epoch 2").layout.title.text == "at epoch 2"
    assert snapshot_alignment(snapshot, 0)["mirror_peak_rate"] == 1.0
    assert watched_index(None) == 0 and watched_index({"examples": [1, 2, 3]}) == 1


def test_alignment_rows_format_each_column():
    rows = alignment_rows(("one", {"mirror_peak_rate": 0.5, "entropy_first": 0.25}), ("none", None))
    first = rows[0]
    assert first["metric"].startswith("mirror-position accuracy") and first["one"] == "50.0%" and first["none"] == "n/a"
    entropy = next(r for r in rows if r["metric"].startswith("entropy at the start"))
    assert entropy["one"] == "0.250"


def test_markup_stays_text():
    assert markdown_escape("<script>alert(1)</script>") == "\\<script\\>alert\\(1\\)\\</script\\>"
    assert markdown_escape("**bold** :red[x]\nnext") == "\\*\\*bold\\*\\* \\:red\\[x\\] next"
    hostile = Reversal(["<b>x</b>"], [False], ["<b>x</b>"], ["<unk>"], [True], [[1.0, 0.0], [0.0, 1.0]])
    figure = result_figure(hostile, "<img src=x onerror=alert(1)>")
    assert "<b>" not in str(list(figure.data[0].x)) and "&lt;b&gt;" in str(list(figure.data[0].x))
    assert "<img" not in figure.layout.title.text


def test_status_text():
    assert status_text("finished", "stopped") == "finished (stopped by a user)"
    assert status_text("running") == "training"
    assert status_text("interrupted").startswith("interrupted")


def test_ablation_table_shows_mean_and_spread_and_survives_junk():
    rows = [
        {"variant": "default", "normal_mean": 1.0, "normal_std": 0.0, "long (1.3x)_mean": 0.8889,
         "long (1.3x)_std": 0.139, "t99_mean": 15.51, "t99_std": 3.2, "t99_reached": "3/3", "test_mean": 1.0},
        {"variant": "no attention", "normal_mean": 0.027, "normal_std": 0.005, "long (1.3x)_mean": None,
         "long (1.3x)_std": None, "t99_mean": None, "t99_std": None, "t99_reached": "0/3", "test_mean": 0.027},
        {"variant": "<b>odd</b>", "normal_mean": "high", "t99_mean": True},
        "junk",
    ]  # fmt: skip
    assert ablation_table({"rows": rows}) == [
        {"variant": "default", "normal": "1.000 ± 0.000", "long (1.3x)": "0.889 ± 0.139",
         "time to 99% valid": "15.5 s (3/3)"},
        {"variant": "no attention", "normal": "0.027 ± 0.005", "long (1.3x)": "n/a",
         "time to 99% valid": "not reached (0/3)"},
        {"variant": "<b>odd</b>", "normal": "n/a", "time to 99% valid": "not reached (n/a)"},
    ]  # fmt: skip


def test_longer_than_trained_joins_the_longest_test_sentences_to_length():
    from seq2seq.app.views import longer_than_trained

    test = [["a", "b"], ["c", "d", "e"], ["f"]]
    assert longer_than_trained(test, 4) == "c d e a b f"  # 1.5 x 4 words, longest sentences first
    assert longer_than_trained(test, 4, 2.3) == "c d e a b f c d e"
    assert longer_than_trained([], 4) is None


def test_no_attention_text_says_why_and_when_the_sentence_is_past_training():
    from seq2seq.app.views import no_attention_text

    text = no_attention_text("encdec", 22, 15)
    assert "no attention to show" in text and "last state" in text and "more than the 15" in text
    assert "more than" not in no_attention_text("encdec", 10, 15)
    assert "average" in no_attention_text("none", 3, 15)
