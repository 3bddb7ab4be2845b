"""Switching one energy term off at inference, on a copy of the model, over a whole set of sentences."""

import json
from pathlib import Path

import pytest
import torch

from seq2seq.ablate import term_ablation, terms_of, without_term
from seq2seq.decoding import Reverser
from seq2seq.evaluation import evaluate_sentences

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def test_all_terms_on_is_the_plain_evaluation_exactly(tiny_reverser):
    test = tiny_reverser.checkpoint.test_sentences
    plain = evaluate_sentences(tiny_reverser, test)
    assert term_ablation(tiny_reverser, test, None).evaluation == plain.evaluation


def test_switching_a_term_off_changes_a_copy_and_never_the_shared_model(tiny_reverser):
    test = tiny_reverser.checkpoint.test_sentences
    assert terms_of(tiny_reverser) == ("location", "content", "query")
    before = evaluate_sentences(tiny_reverser, test).evaluation
    without_content = term_ablation(tiny_reverser, test, "content").evaluation
    assert without_content.exact_match < before.exact_match  # no word to read: it cannot copy the right one
    assert sum(without_content.failures.values()) == without_content.total - without_content.correct
    assert tiny_reverser.model.decoder.attention.switched_off is None
    assert evaluate_sentences(tiny_reverser, test).evaluation == before


def test_a_term_the_kind_does_not_have_is_refused_by_name(tiny_reverser):
    additive = Reverser.load(ARTIFACTS / "additive" / "model.pt")
    assert terms_of(additive) == ("content", "query")
    with pytest.raises(ValueError, match="has no location term"):
        without_term(additive, "location")
    assert terms_of(Reverser.load(ARTIFACTS / "encdec" / "model.pt")) == ()


@pytest.mark.parametrize("folder", ["", "additive", "encdec", "stop"])
def test_shipped_checkpoints_load_and_decode_as_their_stored_metrics_say(folder):
    """Every shipped model still loads and decodes its test split to the exact match per length it stored."""
    torch.set_num_threads(1)
    reverser = Reverser.load(ARTIFACTS / folder / "model.pt")
    stored = json.loads((ARTIFACTS / folder / "metrics.json").read_text())["test"]
    evaluation = evaluate_sentences(reverser, reverser.checkpoint.test_sentences).evaluation
    assert (evaluation.correct, evaluation.total) == (stored["correct"], stored["total"])
    assert {n: row["correct"] for n, row in evaluation.per_length.items()} == {
        n: row["correct"] for n, row in stored["per_length"].items()
    }
    assert evaluation.token_accuracy == pytest.approx(stored["token_accuracy"], abs=1e-12)
