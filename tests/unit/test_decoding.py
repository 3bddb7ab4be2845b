"""Decoding (seq2seq.decoding): greedy and beam search, forcing, step records, the Reverser and its <unk> copy step,
on the tiny test model, hand-set models and a model without attention."""

import copy
import math

import pytest
import torch

from seq2seq.batching import make_batch
from seq2seq.checkpoint import load_checkpoint
from seq2seq.decoding import (
    Forcing,
    Reverser,
    check_options,
    copy_unknowns,
    has_attention,
    same_length_rows,
    search,
)
from seq2seq.model import Seq2Seq, context_of, writable
from seq2seq.tokenize import InputError
from seq2seq.vocab import EOS, EOS_ID, PAD_ID, SOS_ID, UNK_ID


def batches(reverser: Reverser, sentences):
    for rows in same_length_rows(sentences, 100):
        batch = make_batch([sentences[i] for i in rows], reverser.vocab)
        yield [sentences[i] for i in rows], batch


def plain_greedy(model: Seq2Seq, src: torch.Tensor, lengths: torch.Tensor, margin: int = 5):
    """Greedy decoding as plainly as it can be written, one sentence at a time: the most probable writable word at
    each step, until <eos> or the cap (source length + margin). Per sentence: (ids, attention rows (T, S))."""
    results = []
    with torch.inference_mode():
        for row in range(src.size(0)):
            n = int(lengths[row])
            enc = model.encode(src[row : row + 1, :n], lengths[row : row + 1])
            table, state, alpha = model.input_table(), enc.initial_state, model.no_weights(enc)
            token, ids, weights = torch.tensor([SOS_ID]), [], []
            for _ in range(n + margin):
                state, alpha, logits = model.decode_step(enc, table, token, state, alpha)
                token = writable(logits).argmax(dim=1)
                ids.append(int(token))
                weights.append(alpha[0])
                if ids[-1] == EOS_ID:
                    break
            results.append((ids, torch.stack(weights)))
    return results


def test_a_beam_of_one_is_greedy_decoding_on_the_whole_test_split(tiny_reverser):
    """The batched search with a beam of 1 writes, sentence by sentence, what the plain greedy loop writes, with the
    same weights: batching, the beam bookkeeping and the read-back change nothing."""
    sentences = tiny_reverser.checkpoint.test_sentences
    assert len(sentences) >= 50
    for _, batch in batches(tiny_reverser, sentences):
        found = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=1)
        expected = plain_greedy(tiny_reverser.model, batch.src, batch.src_lengths)
        for (best,), (ids, weights) in zip(found, expected, strict=True):
            assert best.ids == ids
            assert torch.allclose(torch.tensor(best.attention), weights, atol=1e-6)


def test_greedy_with_the_length_cap_matches_too(tiny_reverser):
    """A model that never says <eos> runs every sentence to its cap (source length + margin): beam 1 stops where
    greedy does, with the answer marked as not ended."""
    model = copy.deepcopy(tiny_reverser.model)
    with torch.no_grad():
        model.decoder.output.bias[EOS_ID] = -1e4
    words = tiny_reverser.vocab.words
    sentences = [[words[(i * 7 + j * 3) % len(words)] for j in range(2 + i % 10)] for i in range(40)]
    for chunk, batch in batches(tiny_reverser, sentences):
        found = search(model, batch.src, batch.src_lengths, beam=1, margin=2)
        expected = plain_greedy(model, batch.src, batch.src_lengths, margin=2)
        for words_in, (best,), (ids, _) in zip(chunk, found, expected, strict=True):
            assert best.ids == ids and len(ids) == len(words_in) + 1 + 2  # the source length counts its <eos>
            assert not best.ended


def test_each_sentence_of_a_padded_batch_stops_at_its_eos_or_at_its_own_length_cap(tiny_reverser):
    """Row 0 is made to say <eos> at step 3, row 2 at step 1, row 1 never: each row stops where it should, and the
    rows run on, in one padded batch, until the last reaches its cap (source length, its <eos> counted, + margin)."""
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "sat", "on", "mat"], ["the", "cat", "sat", "on"], ["a", "cat"]], vocab)
    real, calls = model.decode_step, []
    eos_at = {0: 2, 2: 0}  # row -> step index at which it says <eos>

    def scripted(*args):
        state, alpha, logits = real(*args)
        logits = logits.clone()
        for row, t in eos_at.items():
            logits[row, EOS_ID] = 1e4 if len(calls) == t else -1e4
        logits[1, EOS_ID] = -1e4
        calls.append(len(logits))
        return state, alpha, logits

    model.decode_step = scripted
    try:
        found = search(model, batch.src, batch.src_lengths, margin=3)
    finally:
        del model.decode_step
    best = [hypotheses[0] for hypotheses in found]
    assert [len(h.ids) for h in best] == [3, 5 + 3, 1] and len(calls) == 5 + 3
    assert best[0].ids[-1] == EOS_ID and best[2].ids == [EOS_ID]
    assert [h.ended for h in best] == [True, False, True] and EOS_ID not in best[1].ids
    assert [len(h.attention) for h in best] == [3, 5 + 3, 1] and len(best[0].attention[0]) == 7  # 6 words + <eos>


def test_a_model_sure_of_eos_takes_one_step():
    torch.manual_seed(0)
    from tests.conftest import tiny_config

    vocab_size = 12
    model = Seq2Seq(vocab_size, tiny_config()).eval()
    with torch.no_grad():
        model.decoder.output.bias.fill_(-100.0)
        model.decoder.output.bias[EOS_ID] = 100.0
    src, lengths = torch.tensor([[5, 6, 7], [8, 9, PAD_ID]]), torch.tensor([3, 2])
    assert [[h.ids for h in hypotheses] for hypotheses in search(model, src, lengths)] == [[[EOS_ID]], [[EOS_ID]]]


@pytest.mark.parametrize("beam", [2, 5])
def test_a_wider_beam_is_never_less_probable_than_greedy_and_its_n_best_are_sorted_and_distinct(tiny_reverser, beam):
    sentences = tiny_reverser.checkpoint.test_sentences
    for _, batch in batches(tiny_reverser, sentences):
        greedy = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=1)
        wide = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=beam, n_best=beam)
        for (narrow,), hypotheses in zip(greedy, wide, strict=True):
            assert hypotheses[0].log_prob >= narrow.log_prob - 1e-6
            scores = [h.log_prob for h in hypotheses]
            assert scores == sorted(scores, reverse=True)
            assert len({tuple(h.ids) for h in hypotheses}) == len(hypotheses)
            for hypothesis in hypotheses:
                assert hypothesis.log_prob == pytest.approx(sum(hypothesis.token_log_probs))
                assert all(lp <= 0 for lp in hypothesis.token_log_probs)


def test_the_n_best_list_is_filled_when_the_beam_allows(tiny_reverser):
    batch = make_batch([["the", "cat", "sat"]], tiny_reverser.vocab)
    found = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=4, n_best=4)[0]
    assert len(found) == 4


def test_the_best_hypothesis_is_exact_for_two_word_sentences(tiny_reverser):
    """Brute force over every two-word output (and the single-word ones): the beam's best is the most probable."""
    from seq2seq.scoring import score_pairs

    source = ["the", "cat"]
    words = tiny_reverser.vocab.words
    candidates = [[w] for w in words] + [[a, b] for a in words for b in words]
    scores = score_pairs(tiny_reverser, [(source, c) for c in candidates])
    best = max(scores, key=lambda s: s.log_prob)
    found = tiny_reverser.with_search(beam=8).reverse_tokens([source])[0]
    assert found.found.log_prob >= best.log_prob - 1e-4


def test_forcing_the_models_own_word_changes_nothing(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    plain = search(model, batch.src, batch.src_lengths, vocab=vocab)[0][0]
    for step, token in enumerate(plain.ids):
        forced = search(model, batch.src, batch.src_lengths, forcing=Forcing({step: token}), vocab=vocab)[0][0]
        assert forced.ids == plain.ids
        assert forced.log_prob == pytest.approx(plain.log_prob)
        assert forced.steps[step].forced == "word"


def test_forcing_another_word_writes_it_and_decoding_goes_on_from_there(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    plain = search(model, batch.src, batch.src_lengths, vocab=vocab)[0][0]
    other = next(i for i in range(4, len(vocab)) if i != plain.ids[1])
    forced = search(model, batch.src, batch.src_lengths, forcing=Forcing({1: other}), vocab=vocab)[0][0]
    assert forced.ids[:2] == [plain.ids[0], other]
    assert forced.log_prob < plain.log_prob
    step = forced.steps[1]
    assert step.token == vocab.itos[other] and step.top[0].word == vocab.itos[plain.ids[1]]


def test_a_prefix_forces_the_first_words_and_unknown_prefix_words_are_refused(tiny_reverser):
    decoded = tiny_reverser.with_search(prefix=["mat", "mat"]).reverse_tokens([["the", "cat"]])[0]
    assert decoded.raw_output[:2] == ["mat", "mat"]
    with pytest.raises(InputError, match="zorblax"):
        tiny_reverser.with_search(prefix=["zorblax"])


def test_forcing_attention_one_hot_uses_exactly_that_annotation_as_context(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    step, position = 1, 0
    forced = search(model, batch.src, batch.src_lengths, forcing=Forcing(attention=(step, position)), vocab=vocab)[0][0]
    record = forced.steps[step]
    assert record.forced == "attention"
    assert record.weights == [1.0 if j == position else 0.0 for j in range(5)]
    # Recompute that step by hand with c = h_position and compare the distribution the search saw.
    with torch.inference_mode():
        enc = model.encode(batch.src, batch.src_lengths)
        dec = model.decoder
        state, alpha = enc.initial_state, torch.zeros(1, 5)
        table = model.input_table()
        token = torch.tensor([forced.ids[0]])
        state, alpha, _ = model.decode_step(enc, table, torch.tensor([1]), state, alpha)  # step 0, <sos> read
        assert context_of(torch.eye(5)[position : position + 1], enc).equal(enc.annotations[:, position])
        gates = table[token] + dec.input_from_context(enc.annotations[:, position])
        new_state = dec.gru(gates, dec.from_state(state)[:, dec.attention_size :], state)
        logits = dec.logits(new_state, enc.annotations[:, position], dec.embedding(token))
    expected = torch.log_softmax(writable(logits), dim=1)[0]  # as every decode reads the model
    assert record.top[0].prob == pytest.approx(math.exp(float(expected.max())), rel=1e-5)
    assert record.log_prob == pytest.approx(float(expected[forced.ids[step]]), abs=1e-5)


def test_step_records_show_the_energy_term_by_term(tiny_reverser):
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog", "ran"]], vocab)
    found = search(model, batch.src, batch.src_lengths, vocab=vocab)[0][0]
    assert len(found.steps) == len(found.ids)
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
    found = search(tiny_reverser.model, batch.src, batch.src_lengths, beam=3, n_best=3, vocab=vocab)[0][0]
    first = found.beam_steps[0]
    assert [e.status for e in first].count("kept") <= 3
    assert all(len(e.words) == 1 for e in first)
    assert [e.log_prob for e in first] == sorted((e.log_prob for e in first), reverse=True)
    finished = {tuple(e.words) for step in found.beam_steps for e in step if e.status == "finished"}
    assert tuple(vocab.itos[i] for i in found.ids) in finished


def test_bad_search_settings_are_refused_by_name():
    for beam, n_best, penalty, word in [(0, 1, 0, "beam"), (21, 1, 0, "beam"), (3, 4, 0, "n-best")]:
        with pytest.raises(ValueError, match=word):
            check_options(beam, n_best, penalty)
    with pytest.raises(ValueError, match="length penalty"):
        check_options(2, 1, float("nan"))


def test_a_length_penalty_can_rank_longer_answers_higher(tiny_reverser):
    plain = tiny_reverser.with_search(beam=4, n_best=4).reverse_tokens([["the", "cat"]])[0]
    penalized = tiny_reverser.with_search(beam=4, n_best=4, length_penalty=2.0).reverse_tokens([["the", "cat"]])[0]
    scores = [h.found.score for h in penalized.hypotheses]
    assert len(scores) == 4 and scores == sorted(scores, reverse=True)
    assert all(h.found.score == h.found.log_prob for h in plain.hypotheses)
    assert all(h.found.score > h.found.log_prob for h in penalized.hypotheses)


def test_beam_outputs_copy_unknown_words_as_greedy_ones_do(tiny_reverser):
    sentence = ["the", "zorblax", "sat"]
    greedy = tiny_reverser.reverse_tokens([sentence])[0]
    beam = tiny_reverser.with_search(beam=3).reverse_tokens([sentence])[0]
    assert beam.output == greedy.output
    assert beam.hypotheses[0].output == greedy.output


def test_a_model_without_attention_decodes_but_has_no_weights_to_force(tiny_reverser):
    from tests.conftest import tiny_config

    torch.manual_seed(0)
    model = Seq2Seq(len(tiny_reverser.vocab), tiny_config(attention="none")).eval()
    assert not has_attention(model) and has_attention(tiny_reverser.model)
    batch = make_batch([["the", "cat"]], tiny_reverser.vocab)
    found = search(model, batch.src, batch.src_lengths, beam=2, vocab=tiny_reverser.vocab)[0][0]
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
    plain = search(model, batch.src, batch.src_lengths)[0][0]
    checked = 0
    for step in range(len(plain.ids) - 1):
        for other in range(4, len(vocab)):
            if other == plain.ids[step]:
                continue
            forced = search(model, batch.src, batch.src_lengths, forcing=Forcing({step: other}))[0][0]
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

    def decode_step(self, enc, input_table, tokens, state, alpha, forced_weights=None, coverage=None):
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
    greedy = search(model, batch.src, batch.src_lengths, beam=1)[0][0]
    assert greedy.ids == [a, x, EOS_ID] and greedy.log_prob == pytest.approx(math.log(0.4 * 0.34), abs=1e-6)
    second = search(model, batch.src, batch.src_lengths, beam=2, vocab=vocab)[0][0]
    step_two = {tuple(e.words): e.status for e in second.beam_steps[1]}
    assert step_two[("the", "sat")] == "dropped"  # the premise: the beam prunes the greedy path
    assert second.log_prob >= greedy.log_prob - 1e-6
    assert second.ids == greedy.ids  # here nothing the beam found beats it


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
        fond.with_search(beam=3).reverse_tokens([sentence])[0],
        fond.reverse_tokens([sentence], forcing=Forcing({1: vocab.stoi["cat"]}))[0],
        fond.with_search(prefix=["cat", "<unk>"]).reverse_tokens([sentence])[0],
    ]
    for reversal in decodes:
        assert not {"<pad>", "<sos>"} & set(reversal.raw_output)
        ended = len(reversal.attention) == len(reversal.raw_output) + 1
        assert ended or len(reversal.attention) == len(reversal.raw_output)  # one row per step, <eos> step last
        labels = heatmap_figure(reversal.tokens, reversal.output, reversal.attention).data[0].y
        assert list(labels[: len(reversal.output)]) == position_labels(reversal.output)  # row i is step i's word
    found = fond.with_search(beam=2).reverse_tokens([sentence], record=True)[0].found
    assert len(found.steps) == len(found.ids)
    assert all(c.word not in ("<pad>", "<sos>") for record in found.steps for c in record.top)


def test_pad_and_sos_cannot_be_forced_and_an_eos_ends_the_output(tiny_reverser):
    from seq2seq.decoding import forced_word_id

    vocab = tiny_reverser.vocab
    batch = make_batch([["the", "big", "dog"]], vocab)
    for word in ["<pad>", "<sos>"]:
        with pytest.raises(InputError, match=f"^{word} cannot be forced: no decode writes it"):
            forced_word_id(word, vocab)
        with pytest.raises(InputError, match=f"the prefix: {word} cannot be forced"):
            tiny_reverser.with_search(prefix=["dog", word])
        with pytest.raises(ValueError, match="cannot be forced"):
            search(tiny_reverser.model, batch.src, batch.src_lengths, forcing=Forcing({0: vocab.stoi[word]}))
    stopped = tiny_reverser.with_search(prefix=["dog", "<eos>"]).reverse_tokens([["the", "big", "dog"]])[0]
    assert stopped.raw_output == ["dog"] and stopped.found.ended
    with pytest.raises(InputError, match="after the <eos> forced at step 1"):
        tiny_reverser.with_search(prefix=["<eos>", "dog"])


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
    scored = score_pairs(fond, [(source, own.raw_output)])[0]
    if own.found.ended:
        assert scored.log_prob == pytest.approx(own.found.log_prob, abs=1e-4)


def test_p_eos_at_each_step_is_the_models_and_sums_with_the_other_words_to_one(tiny_reverser):
    sentence = ["the", "big", "cat", "sat"]
    decoded = tiny_reverser.reverse_tokens([sentence], record=True)[0]
    steps = decoded.found.steps
    model, vocab = tiny_reverser.model, tiny_reverser.vocab
    written = decoded.raw_output
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


# ------------------------------------------------------------------------------------------------- the Reverser
def test_reverses_a_typed_sentence(tiny_reverser):
    result = tiny_reverser.reverse("The cat sat")
    assert result.tokens == ["the", "cat", "sat"]
    assert result.output == ["sat", "cat", "the"] and result.match
    assert len(result.attention) == 4 and len(result.attention[0]) == 4


def test_batched_results_come_back_in_input_order(tiny_reverser):
    sentences = [["dog"], ["the", "big", "red", "cat"], ["a", "bird"], ["sat", "on", "mat"]]
    results = tiny_reverser.reverse_tokens(sentences, batch_size=3)
    assert [r.tokens for r in results] == sentences
    assert [r.output for r in results] == [s[::-1] for s in sentences]


def test_empty_input_is_refused(tiny_reverser):
    with pytest.raises(InputError):
        tiny_reverser.reverse("  ")


def test_unknown_words_are_flagged(tiny_reverser):
    result = tiny_reverser.reverse("the zebra sat")
    assert result.known == [True, False, True]


def test_copy_unknowns_takes_the_source_token_at_the_attention_peak():
    output, copied = copy_unknowns(
        ["the", "zebra", "sat"],
        ["sat", "<unk>", "the"],
        [[0, 0, 1, 0], [0.1, 0.8, 0.1, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
    )
    assert output == ["sat", "zebra", "the"] and copied == [False, True, False]


def test_an_unk_attending_to_eos_stays_unk():
    output, copied = copy_unknowns(["a"], ["<unk>"], [[0.2, 0.8], [0, 1]])
    assert output == ["<unk>"] and copied == [False]


def unk_speaking_reverser(tiny_checkpoint, copy_unknown: bool) -> Reverser:
    """The tiny model with its output bias set so that it says ``<unk>`` at every step (and never ``<eos>``)."""
    reverser = Reverser.load(tiny_checkpoint, copy_unknown=copy_unknown)
    with torch.no_grad():
        reverser.model.decoder.output.bias.fill_(-1e4)
        reverser.model.decoder.output.bias[UNK_ID] = 1e4
    return reverser


def test_reverser_replaces_each_unk_with_the_source_word_at_that_steps_attention_peak(tiny_checkpoint):
    tokens = ["the", "cat", "sat", "on", "mat"]
    result = unk_speaking_reverser(tiny_checkpoint, copy_unknown=True).reverse(" ".join(tokens))
    assert result.raw_output == ["<unk>"] * len(result.raw_output) and len(result.raw_output) > len(tokens)
    peaks = [max(range(len(row)), key=row.__getitem__) for row in result.attention[: len(result.raw_output)]]
    assert result.output == [tokens[p] if p < len(tokens) else "<unk>" for p in peaks]
    assert result.copied == [p < len(tokens) for p in peaks] and any(result.copied)
    assert len(set(peaks)) > 1  # the peaks move, so copying from the wrong step would give other words


@pytest.mark.parametrize("attention", ["none", "encdec", "additive"])
def test_the_unk_copy_step_needs_an_attention_peak(attention):
    """A model that says <unk> has it replaced by the word it looked at; one without attention has nowhere it looked,
    so its <unk> stays (the mean context would otherwise copy the first word every time)."""
    import torch

    from seq2seq.config import Config
    from seq2seq.model import Seq2Seq
    from seq2seq.vocab import EOS_ID, UNK_ID, Vocabulary

    vocab = Vocabulary.build([["the", "cat"]])
    model = Seq2Seq(len(vocab), Config(embedding_size=8, hidden_size=8, attention_size=8, attention=attention)).eval()
    with torch.no_grad():  # always say <unk>, then <eos> once it has seen <unk> as its previous word
        model.decoder.output.bias.fill_(-50.0)
        model.decoder.output.bias[UNK_ID] = 50.0
    result = Reverser(model, vocab).reverse("the zebra")
    assert set(result.raw_output) == {"<unk>"} and EOS_ID not in result.raw_output
    if attention == "additive":  # each <unk> becomes the word at its step's attention peak
        assert (result.output, result.copied) == copy_unknowns(result.tokens, result.raw_output, result.attention)
    else:  # fixed weights: uniform (whose first peak is "the") or one-hot on the source's <eos>
        assert result.output == result.raw_output and not any(result.copied)


def test_plain_mode_keeps_unk(tiny_checkpoint):
    plain = unk_speaking_reverser(tiny_checkpoint, copy_unknown=False)
    result = plain.reverse("the cat sat")
    assert result.output == result.raw_output == ["<unk>"] * len(result.raw_output)
    assert not any(result.copied)
    assert plain.with_copy(True).reverse("the cat sat").output != result.output  # the same model, copying


def test_by_default_a_reverser_copies_and_keeps_its_checkpoint(tiny_checkpoint):
    """Loading, building from a checkpoint and constructing all copy unknown words unless told not to, and a
    reverser made from a checkpoint (or switched with ``with_copy``) still carries that checkpoint."""
    checkpoint = load_checkpoint(tiny_checkpoint)
    built = Reverser.from_checkpoint(checkpoint)
    assert built.checkpoint is checkpoint and built.with_copy(False).checkpoint is checkpoint
    for reverser in (Reverser.load(tiny_checkpoint), built, Reverser(built.model, built.vocab)):
        with torch.no_grad():
            reverser.model.decoder.output.bias.fill_(-1e4)
            reverser.model.decoder.output.bias[UNK_ID] = 1e4
        assert any(reverser.reverse("the cat sat").copied)
    plain = Reverser.load(tiny_checkpoint).with_copy(False)
    assert plain.checkpoint is not None and not plain.copy_unknown
