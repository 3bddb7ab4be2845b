"""What the pages show: tables, filters, figures and labels, all plain data and escaped text."""

import pytest

from seq2seq.app.views import (
    ablation_rows,
    ablation_table,
    ablation_text,
    alignment_rows,
    counted,
    example_rows,
    failure_filter_label,
    filter_rows,
    filtered_accuracy,
    live_metrics,
    markdown_escape,
    output_rows,
    run_rows,
    snapshot_alignment,
    snapshot_example,
    snapshot_label,
    status_text,
    terms_note,
    token_rows,
    unknown_words,
    validation_text,
    watched_index,
)
from seq2seq.attention import ENERGY_TERMS, TERM_NAMES
from seq2seq.decoding import Reversal
from seq2seq.metrics import evaluate_results

GOOD = Reversal(["a", "b"], [True, True], ["b", "a"], ["b", "a"], [False, False], [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
BAD = Reversal(["x", "y", "z"], [True, False, True], ["z", "y", "y"], ["z", "<unk>", "y"], [False, True, False], [])


def test_token_and_output_rows_flag_unknown_and_copied_words():
    assert [r["in vocabulary"] for r in token_rows(BAD)] == ["yes", "UNKNOWN: seen as <unk>", "yes"]
    assert unknown_words(BAD) == ["y"]
    assert [bool(r["copied"]) for r in output_rows(BAD)] == [False, True, False]
    assert [r["position"] for r in output_rows(BAD)] == [1, 2, 3]


def test_example_rows_and_filters():
    rows = example_rows([GOOD, BAD], aligns=True)
    assert rows[0] == {
        "#": 1, "input": "a b", "output": "b a", "reference": "b a", "length": 2, "match": True, "failure": ""
    }  # fmt: skip
    assert rows[1]["match"] is False and rows[1]["reference"] == "z y x" and rows[1]["failure"] == "repeated a word"
    assert filter_rows(rows, failure="repeated a word") == rows[1:] and filter_rows(rows, failure="wrong word") == []
    assert filter_rows(rows, failure="any") == rows
    assert failure_filter_label("repeated a word", {"repeated a word": 1200}) == "repeated a word (1,200)"
    with pytest.raises(ValueError, match="failure filter"):
        filter_rows(rows, failure="lost")
    assert filter_rows(rows, "match") == rows[:1]
    assert filter_rows(rows, "no match") == rows[1:]
    assert filter_rows(rows, "all", (3, 5)) == rows[1:]
    assert filter_rows(rows, "all", (4, 5)) == []
    assert filtered_accuracy(rows) == (0.5, 1, 2) and filtered_accuracy([]) == (None, 0, 0)
    with pytest.raises(ValueError, match="match filter"):
        filter_rows(rows, "maybe")


def test_terms_note_names_the_terms_a_kind_has_and_lacks():
    assert terms_note("2014 additive attention", ("content", "query")).endswith(
        "It has no location term, so there is nothing of it to switch off."
    )
    assert "has 3 terms" in terms_note("location-aware attention", ENERGY_TERMS)
    assert "does not attend" in terms_note("encoder–decoder, no attention", ())


def test_ablation_text_and_rows_are_computed_from_the_two_evaluations():
    good = GOOD
    wrong = Reversal(["a", "b"], [True, True], ["b"], ["b"], [False], [[0, 1, 0], [1, 0, 0]])  # ends on "a"
    plain, ablated = evaluate_results([good, good], aligns=True), evaluate_results([good, wrong], aligns=True)
    text = ablation_text("query", plain, ablated)
    assert text.startswith(f"With {TERM_NAMES['query']} switched off, exact match on the test split falls from 100.0%")
    assert "to 50.0% (1/2). 1 of 2 decodes are wrong, every one of them the same way: **stopped early**" in text
    assert "stays at 100.0%" in ablation_text("query", plain, plain)
    assert ablation_rows(plain, ablated, "query") == [
        {
            "length": 2,
            "all terms on": "100.0%",
            "query term off": "50.0%",
            "failures with the query term off": "stopped early 1",
        }
    ]


def test_snapshot_helpers():
    snapshot = {
        "epoch": 2,
        "step": 40,
        "examples": [{"tokens": ["a", "b"], "output": ["b", "a"], "attention": GOOD.attention}],
    }
    assert snapshot_label(snapshot) == "epoch 2 · step 40"
    assert snapshot_example(snapshot, 5) is None and snapshot_alignment(snapshot, 5) is None
    assert snapshot_example(snapshot, 0) is snapshot["examples"][0]
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


def test_status_text():
    assert status_text("finished", "stopped") == "finished (stopped by a user)"
    assert status_text("running") == "training"
    assert status_text("interrupted").startswith("interrupted")
    assert status_text("failed", "diverged") == "failed (the loss diverged)"


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


def test_run_rows_say_status_and_accuracy_in_words(tmp_path):
    from seq2seq.app.runs import RunInfo

    finished = RunInfo("20250101-000000", tmp_path, "finished", 0.0, "corpus.txt", "target_accuracy", 0.995, True, True)
    cli = RunInfo("cli-run", tmp_path, "cli", None, "", None, 0.5, True, True)
    odd = RunInfo("odd", tmp_path, "unknown", None, "", None, None, True, False)
    rows = run_rows([finished, cli, odd])
    assert rows[0]["status"] == "finished (reached the target accuracy)" and rows[0]["test exact match"] == "99.5%"
    assert rows[1] == {"run": "cli-run", "started": "", "status": "trained from the command line",
                       "corpus": "", "test exact match": "50.0%"}  # fmt: skip
    assert rows[2]["status"] == "unknown (neither its run.json nor its model can be read)"


def test_longer_than_trained_joins_the_longest_test_sentences_to_length():
    from seq2seq.app.views import longer_than_trained

    test = [["a", "b"], ["c", "d", "e"], ["f"]]
    assert longer_than_trained(test, 4) == "c d e a b f"  # 1.5 x 4 words, longest sentences first
    assert longer_than_trained(test, 4, 2.3) == "c d e a b f c d e"
    assert longer_than_trained([], 4) is None


def test_no_attention_text_says_why_and_when_the_sentence_is_past_training():
    from seq2seq.app.views import no_attention_text

    text = no_attention_text("encdec", 22, 15)
    assert "no attention to show" in text and "last state" in text
    assert "more than the 15 of the longest example it trained on" in text
    assert "more than" not in no_attention_text("encdec", 10, 15)
    assert "average" in no_attention_text("none", 3, 15)
    # its own score at this length, from its test metrics: a weak model's words say it is weak
    per_length = {"6": {"exact_match": 0.125, "correct": 9, "total": 72}}
    assert no_attention_text("encdec", 6, 15, per_length).endswith(
        "On its test sentences of 6 words it reverses 12.5% exactly (9/72)."
    )
    assert "test sentences" not in no_attention_text("encdec", 7, 15, per_length)


def test_live_metrics_show_the_last_batch_and_validation_or_a_dash():
    assert live_metrics([], []) == [("train loss", "–"), ("valid loss", "–"), ("valid exact match", "–"),
                                    ("gradient norm", "–")]  # fmt: skip
    batches = [{"step": 1, "train_loss": 2.0, "grad_norm": 9.0}, {"step": 2, "train_loss": 1.23456, "grad_norm": 0.5}]
    history = [{"step": 2, "train_loss": 1.5, "valid_loss": 0.98765, "valid_exact_match": 0.125}]
    assert dict(live_metrics(batches, history)) == {
        "train loss": "1.2346", "valid loss": "0.9877", "valid exact match": "12.5%", "gradient norm": "0.500"
    }  # fmt: skip


def test_validation_text_says_how_often_and_on_what():
    from seq2seq.config import Config

    assert validation_text(Config(evals_per_epoch=1)) == "Validated once an epoch on every validation sentence."
    text = validation_text(Config(evals_per_epoch=20, valid_size=1_000, valid_subset=200))
    assert text.startswith("Validated 20 times an epoch on the first 200 of the 1,000 validation sentences")
    assert validation_text(Config(evals_per_epoch=3, valid_size=100, valid_subset=500)).endswith(
        "every validation sentence."
    )


def test_counts_agree_with_their_noun():
    assert [counted(n, "step") for n in (0, 1, 2, 1_000)] == ["0 steps", "1 step", "2 steps", "1,000 steps"]
    assert counted(1, "copy", "copies") == "1 copy" and counted(3, "copy", "copies") == "3 copies"
