"""Beam search, forcing and step records (seq2seq.decoding), on the tiny test model and a model without attention."""

import math

import pytest
import torch

from seq2seq.batching import make_batch
from seq2seq.decoding import Forcing, SearchReverser, check_options, has_attention, search
from seq2seq.inference import Reverser, same_length_rows
from seq2seq.model import Seq2Seq, context_of, writable
from seq2seq.tokenize import InputError
from seq2seq.vocab import EOS, EOS_ID, PAD_ID, SOS_ID


def batches(reverser: Reverser, sentences):
    for rows in same_length_rows(sentences, 100):
        batch = make_batch([sentences[i] for i in rows], reverser.vocab)
        yield [sentences[i] for i in rows], batch


def test_a_beam_of_one_is_greedy_decoding_on_the_whole_test_split(tiny_reverser):
    sentences = tiny_reverser.checkpoint.test_sentences
    assert len(sentences) >= 50
    for _, batch in batches(tiny_reverser, sentences):
        greedy = tiny_reverser.model.greedy_decode(batch.src, batch.src_lengths)
        found = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=1)
        for row, result in enumerate(found):
            assert result.best.ids == greedy.tokens[row, : greedy.lengths[row]].tolist()
            expected = greedy.attention[row, : greedy.lengths[row]]
            assert torch.allclose(torch.tensor(result.best.attention), expected, atol=1e-6)


def test_greedy_with_the_length_cap_matches_too(tiny_reverser):
    """Sentences far longer than trained make the model run to its cap now and then; beam 1 stops where greedy does."""
    words = tiny_reverser.vocab.words
    sentences = [[words[(i * 7 + j * 3) % len(words)] for j in range(12)] for i in range(20)]
    for _, batch in batches(tiny_reverser, sentences):
        greedy = tiny_reverser.model.greedy_decode(batch.src, batch.src_lengths, margin=2)
        found = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=1, margin=2)
        for row, result in enumerate(found):
            assert result.best.ids == greedy.tokens[row, : greedy.lengths[row]].tolist()
            assert result.best.ended == (EOS_ID in result.best.ids)


@pytest.mark.parametrize("beam", [2, 5])
def test_a_wider_beam_is_never_less_probable_than_greedy_and_its_n_best_are_sorted_and_distinct(tiny_reverser, beam):
    sentences = tiny_reverser.checkpoint.test_sentences
    for _, batch in batches(tiny_reverser, sentences):
        greedy = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=1)
        wide = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=beam, n_best=beam)
        for narrow, result in zip(greedy, wide, strict=True):
            assert result.best.log_prob >= narrow.best.log_prob - 1e-6
            scores = [h.log_prob for h in result.hypotheses]
            assert scores == sorted(scores, reverse=True)
            assert len({tuple(h.ids) for h in result.hypotheses}) == len(result.hypotheses)
            for hypothesis in result.hypotheses:
                assert hypothesis.log_prob == pytest.approx(sum(hypothesis.token_log_probs))
                assert all(lp <= 0 for lp in hypothesis.token_log_probs)


def test_the_n_best_list_is_filled_when_the_beam_allows(tiny_reverser):
    batch = make_batch([["the", "cat", "sat"]], tiny_reverser.vocab)
    found = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=4, n_best=4)[0]
    assert len(found.hypotheses) == 4


def test_the_best_hypothesis_is_exact_for_two_word_sentences(tiny_reverser):
    """Brute force over every two-word output (and the single-word ones): the beam's best is the most probable."""
    from seq2seq.scoring import score_pairs

    source = ["the", "cat"]
    words = tiny_reverser.vocab.words
    candidates = [[w] for w in words] + [[a, b] for a in words for b in words]
    scores = score_pairs(tiny_reverser, [(source, c) for c in candidates])
    best = max(scores, key=lambda s: s.log_prob)
    found = SearchReverser(tiny_reverser, beam=8).decode_tokens([source])[0]
    assert found.log_prob >= best.log_prob - 1e-4


def test_forcing_the_models_own_word_changes_nothing(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    plain = search(model, batch.src, batch.src_lengths, vocab=vocab)[0]
    for step, token in enumerate(plain.best.ids):
        forced = search(model, batch.src, batch.src_lengths, forcing=Forcing({step: token}), vocab=vocab)[0]
        assert forced.best.ids == plain.best.ids
        assert forced.best.log_prob == pytest.approx(plain.best.log_prob)
        assert forced.steps[step].forced == "word"


def test_forcing_another_word_writes_it_and_decoding_goes_on_from_there(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    plain = search(model, batch.src, batch.src_lengths, vocab=vocab)[0]
    other = next(i for i in range(4, len(vocab)) if i != plain.best.ids[1])
    forced = search(model, batch.src, batch.src_lengths, forcing=Forcing({1: other}), vocab=vocab)[0]
    assert forced.best.ids[:2] == [plain.best.ids[0], other]
    assert forced.best.log_prob < plain.best.log_prob
    step = forced.steps[1]
    assert step.token == vocab.itos[other] and step.top[0].word == vocab.itos[plain.best.ids[1]]


def test_a_prefix_forces_the_first_words_and_unknown_prefix_words_are_refused(tiny_reverser):
    decoded = SearchReverser(tiny_reverser, prefix=["mat", "mat"]).decode_tokens([["the", "cat"]])[0]
    assert decoded.reversal.raw_output[:2] == ["mat", "mat"]
    with pytest.raises(InputError, match="zorblax"):
        SearchReverser(tiny_reverser, prefix=["zorblax"])


def test_forcing_attention_one_hot_uses_exactly_that_annotation_as_context(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    step, position = 1, 0
    forced = search(model, batch.src, batch.src_lengths, forcing=Forcing(attention=(step, position)), vocab=vocab)[0]
    record = forced.steps[step]
    assert record.forced == "attention"
    assert record.weights == [1.0 if j == position else 0.0 for j in range(5)]
    # Recompute that step by hand with c = h_position and compare the distribution the search saw.
    with torch.inference_mode():
        enc = model.encode(batch.src, batch.src_lengths)
        dec = model.decoder
        state, alpha = enc.initial_state, torch.zeros(1, 5)
        table = model._input_table()
        token = torch.tensor([forced.best.ids[0]])
        state, alpha, _ = model._free_step(enc, table, torch.tensor([1]), state, alpha)  # step 0, <sos> read
        assert context_of(torch.eye(5)[position : position + 1], enc).equal(enc.annotations[:, position])
        gates = table[token] + dec.input_from_context(enc.annotations[:, position])
        new_state = dec.gru(gates, dec.from_state(state)[:, dec.attention_size :], state)
        logits = dec.logits(new_state, enc.annotations[:, position], dec.embedding(token))
    expected = torch.log_softmax(writable(logits), dim=1)[0]  # as every decode reads the model
    assert record.top[0].prob == pytest.approx(math.exp(float(expected.max())), rel=1e-5)
    assert record.log_prob == pytest.approx(float(expected[forced.best.ids[step]]), abs=1e-5)


def test_step_records_show_the_energy_term_by_term(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    found = search(model, batch.src, batch.src_lengths, vocab=vocab)[0]
    assert len(found.steps) == len(found.best.ids)
    v = model.decoder.attention.energy.weight[0].detach()
    for record in found.steps:
        energy = record.energy
        assert energy is not None and len(energy.keys) == 5
        assert energy.weights == pytest.approx(record.weights, abs=1e-6)
        assert torch.softmax(torch.tensor(energy.energies), 0).tolist() == pytest.approx(energy.weights, abs=1e-6)
        assert len(set(energy.query)) == 1  # the query term is the same at every position
        # The energy is v_a^T tanh(sum of the terms); the projections alone are bounded by |v_a|_1 after the tanh.
        assert max(abs(e) for e in energy.energies) <= float(v.abs().sum()) + 1e-4
        assert sum(c.prob for c in record.top) <= 1 + 1e-6
        assert record.top == sorted(record.top, key=lambda c: -c.prob)


def test_beam_steps_say_which_hypotheses_survived(tiny_reverser):
    vocab = tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    found = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=3, n_best=3, vocab=vocab)[0]
    first = found.beam_steps[0]
    assert [e.status for e in first].count("kept") <= 3
    assert all(len(e.words) == 1 for e in first)
    assert [e.log_prob for e in first] == sorted((e.log_prob for e in first), reverse=True)
    finished = {tuple(e.words) for step in found.beam_steps for e in step if e.status == "finished"}
    assert tuple(vocab.itos[i] for i in found.best.ids) in finished


def test_bad_search_settings_are_refused_by_name():
    for beam, n_best, penalty, word in [(0, 1, 0, "beam"), (21, 1, 0, "beam"), (3, 4, 0, "n-best")]:
        with pytest.raises(ValueError, match=word):
            check_options(beam, n_best, penalty)
    with pytest.raises(ValueError, match="length penalty"):
        check_options(2, 1, float("nan"))


def test_a_length_penalty_can_rank_longer_answers_higher(tiny_reverser):
    plain = SearchReverser(tiny_reverser, beam=4, n_best=4).decode_tokens([["the", "cat"]])[0]
    penalized = SearchReverser(tiny_reverser, beam=4, n_best=4, length_penalty=2.0).decode_tokens([["the", "cat"]])[0]
    assert [h.score for h in penalized.hypotheses] == sorted((h.score for h in penalized.hypotheses), reverse=True)
    assert all(h.score == h.log_prob for h in plain.hypotheses)
    assert all(h.score > h.log_prob for h in penalized.hypotheses)


def test_beam_outputs_copy_unknown_words_as_greedy_ones_do(tiny_reverser):
    sentence = ["the", "zorblax", "sat"]
    greedy = tiny_reverser.reverse_tokens([sentence])[0]
    beam = SearchReverser(tiny_reverser, beam=3).decode_tokens([sentence])[0]
    assert beam.reversal.output == greedy.output
    assert beam.hypotheses[0].output == greedy.output


def test_a_model_without_attention_decodes_but_has_no_weights_to_force(tiny_reverser):
    from tests.conftest import tiny_config

    torch.manual_seed(0)
    model = Seq2Seq(len(tiny_reverser.vocab), tiny_config(attention="none")).eval()
    assert not has_attention(model) and has_attention(tiny_reverser.model)
    batch = make_batch([["the", "cat"]], tiny_reverser.vocab)
    found = search(model, batch.src, batch.src_lengths, beam=2, vocab=tiny_reverser.vocab)[0]
    assert all(record.energy is None for record in found.steps)
    with pytest.raises(ValueError, match="no attention weights"):
        search(model, batch.src, batch.src_lengths, forcing=Forcing(attention=(0, 0)))


def test_a_forced_word_is_what_the_next_step_reads(tiny_reverser):
    """The forced search's per-token log-probabilities are the teacher-forced score of its own output at every step,
    the forced one and the one after it included, for every word forced in place of the model's own at every step:
    the step after a forced word reads that word. Were the model's own choice fed forward instead, step k+1 would see
    another input than the score feeds it, and its log-probability would differ."""
    from seq2seq.scoring import score_pairs

    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    source = ["the", "big", "dog", "ran"]
    batch = make_batch([source], vocab)
    plain = search(model, batch.src, batch.src_lengths)[0].best
    checked = 0
    for step in range(len(plain.ids) - 1):
        for other in range(4, len(vocab)):
            if other == plain.ids[step]:
                continue
            forced = search(model, batch.src, batch.src_lengths, forcing=Forcing({step: other}))[0].best
            assert forced.ids[step] == other
            if not forced.ended:
                continue  # stopped at the length cap: the score would add an <eos> the search never wrote
            score = score_pairs(tiny_reverser, [(source, vocab.decode(forced.ids))])[0]
            assert forced.token_log_probs == pytest.approx(score.log_probs, abs=1e-5)
            checked += 1
    assert checked >= 10  # the premise: many forced outputs that end


class _Bigram(Seq2Seq):
    """A hand-set model whose next-word distribution depends on the previous word only (``table[previous]``)."""

    def __init__(self, vocab_size: int, table: dict[int, dict[int, float]]) -> None:
        from tests.conftest import tiny_config

        super().__init__(vocab_size, tiny_config())
        self.table = torch.full((vocab_size, vocab_size), 1e-9)
        for previous, nexts in table.items():
            for word, prob in nexts.items():
                self.table[previous, word] = prob
        self.eval()

    def _free_step(self, enc, input_table, tokens, state, alpha, forced_weights=None):
        return state, alpha, self.table[tokens].log()  # (B, V) logits: log-probabilities up to a constant


def test_a_beam_that_prunes_the_greedy_path_still_answers_at_least_as_well_as_greedy(tiny_reverser):
    """Greedy writes A (0.4), then X (0.34), then <eos>: 0.136. A beam of 2 keeps A and B after step 1, but at step 2
    B's two words (0.35 × 0.5 each) outrank A's best (0.4 × 0.34), so plain beam search drops the greedy path, and
    after B P or B Q every answer is less probable than greedy's. The greedy answer kept in the pool saves it."""
    vocab = tiny_reverser.vocab
    a, b, c, x, y, z, p, q, r = (vocab.stoi[w] for w in ["the", "cat", "dog", "sat", "ran", "on", "mat", "big", "red"])
    model = _Bigram(
        len(vocab),
        {
            SOS_ID: {a: 0.4, b: 0.35, c: 0.25},
            a: {x: 0.34, y: 0.33, z: 0.33},
            b: {p: 0.5, q: 0.5},
            x: {EOS_ID: 1.0},
            p: {EOS_ID: 0.05, r: 0.95},
            q: {EOS_ID: 0.05, r: 0.95},
            r: {EOS_ID: 0.3, r: 0.7},
        },
    )
    batch = make_batch([["the", "cat"]], vocab)
    greedy = search(model, batch.src, batch.src_lengths, beam=1)[0].best
    assert greedy.ids == [a, x, EOS_ID] and greedy.log_prob == pytest.approx(math.log(0.4 * 0.34), abs=1e-6)
    second = search(model, batch.src, batch.src_lengths, beam=2, vocab=vocab)[0]
    step_two = {tuple(e.words): e.status for e in second.beam_steps[1]}
    assert step_two[("the", "sat")] == "dropped"  # the premise: the beam prunes the greedy path
    assert second.best.log_prob >= greedy.log_prob - 1e-6
    assert second.best.ids == greedy.ids  # here nothing the beam found beats it


def _fond_of_specials(trained: Reverser) -> Reverser:
    """A hand-set model whose top choice at every step is <pad>, then <sos>: what a barely trained run can do."""
    from tests.conftest import tiny_config

    torch.manual_seed(0)
    model = Seq2Seq(len(trained.vocab), tiny_config()).eval()
    with torch.no_grad():
        model.decoder.output.bias[PAD_ID] = 60.0
        model.decoder.output.bias[SOS_ID] = 50.0
    return Reverser(model, trained.vocab, True, trained.checkpoint)


def test_no_decode_writes_pad_or_sos_and_every_output_word_has_its_own_attention_row(tiny_reverser):
    from seq2seq.plots import heatmap_figure, position_labels

    fond = _fond_of_specials(tiny_reverser)
    vocab, sentence = fond.vocab, ["the", "big", "dog", "ran"]
    batch = make_batch([sentence], vocab)
    with torch.inference_mode():
        logits = fond.model(batch.src, batch.src_lengths, batch.src[:, :1])[0]
    assert int(logits[0, 0].argmax()) == PAD_ID  # the premise: unmasked, the model would write <pad>
    greedy = fond.reverse_tokens([sentence])[0]
    decodes = [
        greedy,
        SearchReverser(fond, beam=3).decode_tokens([sentence])[0].reversal,
        SearchReverser(fond).decode_tokens([sentence], forcing=Forcing({1: vocab.stoi["cat"]}))[0].reversal,
        SearchReverser(fond, prefix=["cat", "<unk>"]).decode_tokens([sentence])[0].reversal,
    ]
    for reversal in decodes:
        assert not {"<pad>", "<sos>"} & set(reversal.raw_output)
        ended = len(reversal.attention) == len(reversal.raw_output) + 1
        assert ended or len(reversal.attention) == len(reversal.raw_output)  # one row per step, <eos> step last
        labels = heatmap_figure(reversal.tokens, reversal.output, reversal.attention).data[0].y
        assert list(labels[: len(reversal.output)]) == position_labels(reversal.output)  # row i is step i's word
    found = SearchReverser(fond, beam=2).decode_tokens([sentence], record=True)[0].search
    assert len(found.steps) == len(found.best.ids)
    assert all(c.word not in ("<pad>", "<sos>") for record in found.steps for c in record.top)


def test_pad_and_sos_cannot_be_forced_and_an_eos_ends_the_output(tiny_reverser):
    from seq2seq.decoding import forced_word_id

    vocab = tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog"]], vocab)
    for word in ["<pad>", "<sos>"]:
        with pytest.raises(InputError, match=f"^{word} cannot be forced: no decode writes it"):
            forced_word_id(word, vocab)
        with pytest.raises(InputError, match=f"the prefix: {word} cannot be forced"):
            SearchReverser(tiny_reverser, prefix=["dog", word])
        with pytest.raises(ValueError, match="cannot be forced"):
            search(tiny_reverser.model, batch.src, batch.src_lengths, forcing=Forcing({0: vocab.stoi[word]}))
    stopped = SearchReverser(tiny_reverser, prefix=["dog", "<eos>"]).decode_tokens([["the", "big", "dog"]])[0]
    assert stopped.reversal.raw_output == ["dog"] and stopped.search.best.ended
    with pytest.raises(InputError, match="after the <eos> forced at step 1"):
        SearchReverser(tiny_reverser, prefix=["<eos>", "dog"])


def test_scores_read_the_model_as_decoding_does(tiny_reverser):
    """A candidate holding <sos> is one no decode can write: it scores -inf there, and the model's choice is never
    <pad> or <sos>, even for a model whose top choice they are."""
    from seq2seq.scoring import score_pairs

    fond = _fond_of_specials(tiny_reverser)
    source = ["the", "cat"]
    score = score_pairs(fond, [(source, ["cat", "<sos>"])])[0]
    assert score.tokens[1].log_prob == float("-inf")
    assert all(t.model_token not in ("<pad>", "<sos>") for t in score.tokens)
    own = fond.reverse_tokens([source])[0]
    decoded = SearchReverser(fond).decode_tokens([source])[0]
    scored = score_pairs(fond, [(source, own.raw_output)])[0]
    if decoded.search.best.ended:
        assert scored.log_prob == pytest.approx(decoded.log_prob, abs=1e-4)


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
