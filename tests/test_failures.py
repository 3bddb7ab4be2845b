"""Failure anatomy (every wrong decode labelled), p(<eos>) per step, and switching an energy term off."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from seq2seq.report import evaluate_sentences

from seq2seq.ablate import term_ablation, terms_of, without_term
from seq2seq.app.decoder_view import stop_step, stop_text
from seq2seq.batching import make_batch
from seq2seq.decoding import Candidate, SearchReverser, StepRecord
from seq2seq.failures import FAILURES, failure_counts, failure_label, failures_text, first_slip
from seq2seq.inference import Reversal, Reverser
from seq2seq.metrics import evaluate_results
from seq2seq.model import writable
from seq2seq.vocab import EOS, EOS_ID

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
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
    assert failure_label(decode(output)) == label


def test_attention_that_left_the_mirror_before_the_first_wrong_word_is_what_drifted():
    # Step 1 looks at "a" (position 0) instead of "c" (position 2); the words go wrong at step 2.
    drifted = decode(["d", "c", "a"], peaks=[3, 0, 2, 4])
    assert first_slip(drifted) == 1
    assert failure_label(drifted) == "attention drifted"
    # A slip at the first wrong step is how the words went wrong there: a stop that looks at the source's <eos>.
    stop = decode(["d", "c"], peaks=[3, 2, 4])
    assert first_slip(stop) == 2 and failure_label(stop) == "stopped early"
    # A slip after the first wrong word did not cause it: the words' own label stands.
    late = decode(["d", "c", "x", "a"], peaks=[3, 2, 1, 2, 4])
    assert first_slip(late) == 3 and failure_label(late) == "wrong word"
    # A model without attention never drifts: its weights are no alignment.
    assert failure_label(drifted, aligns=False) == "skipped a word"


def test_counts_hold_every_label_and_the_text_is_computed_from_them():
    results = [decode(["d", "c"]), decode(["d", "c"]), decode(["d", "c", "x", "a"]), decode(["d", "c", "b", "a"])]
    counts = failure_counts(results)
    assert list(counts) == list(FAILURES)
    assert counts["stopped early"] == 2 and counts["wrong word"] == 1 and sum(counts.values()) == 3
    text = failures_text(counts, len(results))
    assert text.startswith("3 of 4 decodes are wrong, most of them this way: **stopped early**")
    assert "wrong word 1 (33.3%)" in text
    assert "every one of them" in failures_text(failure_counts(results[:2]), 2)
    assert (
        failures_text(failure_counts(results[3:]), 1) == "None of the 1 decodes fails, so there is no failure to label."
    )


def test_an_evaluation_counts_its_failures_in_total_and_per_length():
    results = [decode(["d", "c"]), decode(["d", "c", "b", "a"])]
    evaluation = evaluate_results(results)
    assert evaluation.failures["stopped early"] == 1
    assert evaluation.to_dict()["failures"] == evaluation.failures
    assert evaluation.per_length["4"]["failures"]["stopped early"] == 1
    assert sum(evaluation.failures.values()) == evaluation.total - evaluation.correct


# ------------------------------------------------------------------------------------------------- p(<eos>)
def test_p_eos_at_each_step_is_the_models_and_sums_with_the_other_words_to_one(tiny_reverser):
    sentence = ["the", "big", "cat", "sat"]
    decoded = SearchReverser(tiny_reverser).decode_tokens([sentence], record=True)[0]
    steps = decoded.search.steps
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    written = decoded.reversal.raw_output
    batch = make_batch([sentence], vocab, [written])
    with torch.inference_mode():  # the same steps, teacher forced: the full distribution at each one
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
    probs = torch.softmax(writable(logits), dim=2)[0]  # (T, V)
    assert len(steps) == len(written) + 1 == probs.size(0) and steps[-1].token == EOS
    for t, record in enumerate(steps):
        others = float(probs[t].sum() - probs[t, EOS_ID])
        assert record.eos_prob == pytest.approx(float(probs[t, EOS_ID]), abs=1e-5)
        assert record.eos_prob + others == pytest.approx(1.0, abs=1e-5)
    assert steps[-1].eos_prob > 0.5 > max(r.eos_prob for r in steps[:-1])


# ------------------------------------------------------------------------------------------------- ablation
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


@pytest.mark.parametrize("folder", ["", "additive", "encdec"])
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


def test_the_stop_step_is_where_eos_is_first_most_likely_and_is_told_against_the_reversal():
    def decoded(tops: list[str], written: list[str] | None = None) -> SimpleNamespace:
        steps = [
            StepRecord(i, token, 0.0, [Candidate(word, 0.9)], 0.9 if word == EOS else 0.1, [], None, None)
            for i, (word, token) in enumerate(zip(tops, written or tops, strict=True))
        ]
        return SimpleNamespace(search=SimpleNamespace(steps=steps), reversal=SimpleNamespace(tokens=["a", "b", "c"]))

    assert stop_text(decoded(["c", "b", "a", EOS])).startswith("<eos> first becomes the most likely word at step 4")
    assert "too soon, since the reversal of 3 words ends at step 4" in stop_text(decoded(["c", EOS]))
    assert "too late" in stop_text(decoded(["c", "b", "a", "a", EOS]))
    assert stop_step(decoded(["c", "b"]).search.steps) is None
    forced = decoded(["c", EOS, "a", EOS], ["c", "b", "a", EOS])  # a word forced where <eos> was most likely
    assert stop_step(forced.search.steps) == 1
    assert stop_text(decoded(["c", "b"])).endswith("the length cap ends this decode after 2 steps.")
