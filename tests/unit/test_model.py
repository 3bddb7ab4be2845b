import torch

from seq2seq.config import Config
from seq2seq.model import Seq2Seq
from seq2seq.vocab import PAD_ID

V, B, S, T = 20, 3, 6, 5


def make_model(seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    model = Seq2Seq(V, Config(embedding_size=8, hidden_size=12, attention_size=10)).eval()
    return model.requires_grad_(False)


def inputs():
    torch.manual_seed(1)
    src = torch.randint(4, V, (B, S))
    lengths = torch.tensor([6, 4, 2])
    for row, n in enumerate(lengths):
        src[row, n:] = PAD_ID
    tgt_in = torch.randint(4, V, (B, T))
    return src, lengths, tgt_in


def test_shapes_and_attention_rows_sum_to_one():
    src, lengths, tgt_in = inputs()
    logits, attention = make_model()(src, lengths, tgt_in)
    assert logits.shape == (B, T, V)
    assert attention.shape == (B, T, S)
    torch.testing.assert_close(attention.sum(-1), torch.ones(B, T))


def test_padded_positions_get_no_attention():
    src, lengths, tgt_in = inputs()
    _, attention = make_model()(src, lengths, tgt_in)
    assert float(attention[1, :, 4:].abs().max()) == 0.0
    assert float(attention[2, :, 2:].abs().max()) == 0.0


def test_changing_padded_values_changes_nothing():
    src, lengths, tgt_in = inputs()
    model = make_model()
    logits, attention = model(src, lengths, tgt_in)
    noisy = src.clone()
    noisy[1, 4:] = 7
    noisy[2, 2:] = 9
    logits2, attention2 = model(noisy, lengths, tgt_in)
    torch.testing.assert_close(logits, logits2)
    torch.testing.assert_close(attention, attention2)


def test_a_padded_row_equals_the_same_row_alone():
    src, lengths, tgt_in = inputs()
    model = make_model()
    logits, _ = model(src, lengths, tgt_in)
    alone, _ = model(src[2:3, :2], lengths[2:3], tgt_in[2:3])
    torch.testing.assert_close(logits[2:3], alone, atol=1e-5, rtol=1e-5)


def test_select_returns_logits_of_selected_positions_only():
    src, lengths, tgt_in = inputs()
    model = make_model()
    full, _ = model(src, lengths, tgt_in)
    select = torch.zeros(B, T, dtype=torch.bool)
    select[0, :3] = True
    select[2, 1] = True
    picked, _ = model(src, lengths, tgt_in, select=select)
    torch.testing.assert_close(picked, full[select])


def test_teacher_forcing_one_equals_the_fast_path_and_zero_differs():
    src, lengths, tgt_in = inputs()
    model = make_model()
    forced, _ = model(src, lengths, tgt_in, teacher_forcing=1.0)
    torch.manual_seed(0)
    almost, _ = model(src, lengths, tgt_in, teacher_forcing=0.999999)  # the step-by-step path, reading the reference
    torch.testing.assert_close(forced, almost, atol=1e-5, rtol=1e-5)
    free, _ = model(src, lengths, tgt_in, teacher_forcing=0.0)
    assert not torch.allclose(forced[:, 1:], free[:, 1:])
    torch.testing.assert_close(forced[:, 0], free[:, 0])  # the first step reads <sos> either way


def attention_with_step_2_word_changed(model: Seq2Seq) -> tuple[torch.Tensor, torch.Tensor]:
    """The attention (B, T, S) of a teacher-forced pass, and of the same pass with a different (real) word read at
    step 2 (index 2 of ``tgt_in``)."""
    src, lengths, tgt_in = inputs()
    _, before = model(src, lengths, tgt_in)
    changed = tgt_in.clone()
    changed[:, 2] = (tgt_in[:, 2] + 1 - 4) % (V - 4) + 4
    _, after = model(src, lengths, changed)
    return before, after


def test_the_query_is_the_previous_state():
    """Step i attends from s_{i-1}, so its weights cannot depend on the word it reads at step i (y_{i-1}).
    A decoder that queried with s_i would fail this."""
    before, after = attention_with_step_2_word_changed(make_model())
    torch.testing.assert_close(before[:, :3], after[:, :3])
    assert not torch.allclose(before[:, 3], after[:, 3])


def make_variant(**changes) -> Seq2Seq:
    torch.manual_seed(0)
    config = Config(embedding_size=8, hidden_size=12, attention_size=10, **changes)
    return Seq2Seq(V, config).eval().requires_grad_(False)


def test_without_attention_the_context_is_a_fixed_mean():
    src, lengths, tgt_in = inputs()
    _, attention = make_variant(attention="none")(src, lengths, tgt_in)
    torch.testing.assert_close(attention[1, 0], torch.tensor([0.25] * 4 + [0.0] * 2))
    torch.testing.assert_close(attention[:, 0], attention[:, -1])


def test_querying_with_the_current_state_makes_step_i_depend_on_its_input_word():
    before, after = attention_with_step_2_word_changed(make_variant(attention_query="current"))
    torch.testing.assert_close(before[:, :2], after[:, :2])
    assert not torch.allclose(before[:, 2], after[:, 2])


def test_without_a_query_the_attention_never_reads_the_decoder_state():
    """``attention_query="none"``: no W_a, and the weights follow from the source and the previous weights alone, so
    the word read at step 2 moves no step's weights (with a query it moves step 3's: the test above)."""
    model = make_variant(attention_query="none")
    assert model.decoder.from_state.out_features == 3 * 12  # W_hh only
    assert model.decoder.attention.energy_terms == ("location", "content")
    before, after = attention_with_step_2_word_changed(model)
    torch.testing.assert_close(before, after)


def test_a_unidirectional_encoder_starts_from_the_last_forward_state():
    src, lengths, tgt_in = inputs()
    model = make_variant(bidirectional=False)
    logits, attention = model(src, lengths, tgt_in)
    assert logits.shape == (B, T, V) and attention.shape == (B, T, S)
    annotations, first = model.encoder(src, lengths)
    assert annotations.shape == (B, S, 12)
    torch.testing.assert_close(first[1], annotations[1, 3])


def test_without_the_mask_attention_falls_on_padding():
    src, lengths, tgt_in = inputs()
    _, attention = make_variant(mask_padding=False)(src, lengths, tgt_in)
    assert float(attention[2, :, 2:].sum()) > 0.01


def test_location_aware_attention_reads_the_previous_weights():
    src, lengths, tgt_in = inputs()
    model = make_variant(attention="location")
    enc = model.encode(src, lengths)
    query = torch.zeros(B, 10)
    flat = model.decoder.attention_weights(query, torch.zeros(B, S), enc)
    peaked = model.decoder.attention_weights(query, torch.nn.functional.one_hot(lengths - 1, S).float(), enc)
    assert not torch.allclose(flat, peaked)
    torch.testing.assert_close(peaked.sum(-1), torch.ones(B))
    assert float(peaked[2, 2:].sum()) == 0.0  # the mask still holds


def test_encdec_context_is_the_last_encoder_state_at_every_step():
    """Cho et al.'s RNN Encoder-Decoder: c_i = h_Tx at every step, read from each row's last *real* position."""
    src, lengths, tgt_in = inputs()
    model = make_variant(attention="encdec")
    enc = model.encode(src, lengths)
    annotations, _ = model.encoder(src, lengths)
    last = annotations[torch.arange(B), lengths - 1]  # (B, D): h_Tx, never a padded position
    input_gates = model.decoder.input_from_embedding(model.decoder.embedding(tgt_in))  # (B, T, 3H)
    state, alpha = enc.initial_state, torch.zeros(B, S)
    for t in range(T):
        state, alpha, context = model.decoder.step(input_gates[:, t], state, alpha, enc)
        torch.testing.assert_close(context, last)
        torch.testing.assert_close(alpha, torch.nn.functional.one_hot(lengths - 1, S).float())
    assert not model.decoder.attention.aligns and not list(model.decoder.attention.parameters())


def test_encdec_ignores_padding_even_with_the_mask_ablated():
    src, lengths, tgt_in = inputs()
    _, attention = make_variant(attention="encdec", mask_padding=False)(src, lengths, tgt_in)
    assert attention[2, :, 1].eq(1.0).all() and float(attention[2, :, 2:].sum()) == 0.0
    assert attention[1, :, 3].eq(1.0).all() and attention[0, :, 5].eq(1.0).all()


def test_encdec_one_step_by_hand():
    """s_1 = GRU([E y_0; h_Tx], s_0) and p(y_1) = softmax(W_o tanh(L_o [s_1; h_Tx; E y_0])), written out."""
    src, lengths, tgt_in = inputs()
    model = make_variant(attention="encdec")
    dec = model.decoder
    annotations, backward_first = model.encoder(src, lengths)
    c = annotations[torch.arange(B), lengths - 1]  # (B, D)
    s0 = torch.tanh(dec.init_state(backward_first))
    e = dec.embedding(tgt_in[:, 0])
    x = dec.input_from_embedding(e) + dec.input_from_context(c)  # W [E y; c] + b
    h = dec.from_state(s0)[:, dec.attention_size :]  # W_hh s_0 + b_hh
    H = dec.hidden_size
    r = torch.sigmoid(x[:, :H] + h[:, :H])
    z = torch.sigmoid(x[:, H : 2 * H] + h[:, H : 2 * H])
    n = torch.tanh(x[:, 2 * H :] + r * h[:, 2 * H :])
    s1 = (1 - z) * n + z * s0
    by_hand = dec.output(torch.tanh(dec.readout[0](torch.cat([s1, c, e], dim=1))))
    logits, _ = model(src, lengths, tgt_in[:, :1])
    torch.testing.assert_close(logits[:, 0], by_hand)


def test_the_decoders_gru_cell_is_torchs():
    """The decoder's hand-split GRU step equals torch.nn.GRUCell with the same weights (gate order r, z, n)."""
    torch.manual_seed(0)
    h, n = 12, 7
    cell = torch.nn.GRUCell(n, h)
    x, state = torch.randn(B, n), torch.randn(B, h)
    decoder = make_model().decoder
    with torch.no_grad():
        input_gates = x @ cell.weight_ih.T + cell.bias_ih  # (B, 3H)
        hidden_gates = state @ cell.weight_hh.T + cell.bias_hh  # (B, 3H)
        torch.testing.assert_close(decoder.gru(input_gates, hidden_gates, state), cell(x, state))
