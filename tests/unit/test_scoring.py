"""Teacher-forced scoring of any candidate (seq2seq.scoring)."""

import pytest

from seq2seq.scoring import score_pairs


def test_a_score_sums_its_per_token_terms_eos_included(tiny_reverser):
    score = score_pairs(tiny_reverser, [(["the", "cat", "sat"], ["sat", "cat", "the"])])[0]
    assert [t.token for t in score.tokens] == ["sat", "cat", "the", "<eos>"]
    assert score.log_prob == pytest.approx(sum(score.log_probs))
    assert all(lp <= 0 for lp in score.log_probs)


def test_the_greedy_output_scores_what_decoding_reported(tiny_reverser):
    sentences = tiny_reverser.checkpoint.test_sentences[:40]
    decoded = tiny_reverser.reverse_tokens(sentences)
    scores = score_pairs(tiny_reverser, [(s, d.output) for s, d in zip(sentences, decoded, strict=True)])
    for d, score in zip(decoded, scores, strict=True):
        assert score.log_prob == pytest.approx(d.found.log_prob, abs=1e-4)
        assert score.log_probs == pytest.approx(d.found.token_log_probs, abs=1e-4)
        assert score.disagreements == []


def test_swapped_words_cost_probability_where_they_are_wrong(tiny_reverser):
    right, swapped = score_pairs(
        tiny_reverser, [(["the", "big", "cat"], ["cat", "big", "the"]), (["the", "big", "cat"], ["big", "cat", "the"])]
    )
    assert swapped.log_prob < right.log_prob - 1
    assert swapped.disagreements[0] == 0 and 3 not in swapped.disagreements
    assert swapped.tokens[0].model_token == "cat"


def test_unknown_words_are_scored_as_unk_and_pairs_keep_their_order(tiny_reverser):
    pairs = [(["the", "zorblax"], ["zorblax", "the"]), (["a"], []), (["the", "cat", "sat", "on"], ["on"])]
    pairs.append((["the", "zorblax"], ["<unk>", "the"]))
    scores = score_pairs(tiny_reverser, pairs, batch_size=2)
    assert [s.candidate for s in scores] == [c for _, c in pairs]
    assert scores[0].tokens[0].known is False and scores[3].tokens[0].known is True
    assert scores[0].log_probs == pytest.approx(scores[3].log_probs)
    assert [t.token for t in scores[1].tokens] == ["<eos>"]
