"""The model of Bahdanau, Cho & Bengio (2014, arXiv:1409.0473, appendix A), in batched PyTorch.

Encoder: an embedding and a bidirectional GRU over packed sequences; annotation h_j = [forward_j; backward_j].
Decoder: s_0 = tanh(W_s · backward_1); at step i the attention query is the *previous* state s_{i-1}:

    e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)      alpha_i = softmax_j(e_ij) over real source positions
    c_i  = sum_j alpha_ij h_j                      s_i = GRU([E y_{i-1}; c_i], s_{i-1})
    p(y_i) = softmax(W_o tanh(L_o [s_i; c_i; E y_{i-1}]))

The readout is a "deep output" as in the paper, with a tanh layer in place of the paper's maxout: it reads the new
state s_i, the context c_i and the previous word's embedding.

By default the attention is *location-aware* (Chorowski, Bahdanau, Serdyuk, Cho & Bengio 2015): the energy also
reads a convolution of the previous step's weights, e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j + U_f (F * alpha_{i-1})_j).
Reversal is "attend one position left of where you attended last"; with the location term that is a pattern the
model can learn directly, instead of re-deriving its place from the content of s_{i-1} at every step. In the
ablation (docs/paper.md) it passes 99% valid exact match within one epoch, where the 2014 attention ends near 88% test
exact match, and it keeps its place past the trained lengths, where the 2014 attention loses it.
``attention="additive"`` is the 2014 model exactly. Each kind of attention is a class in ``seq2seq.attention``;
this module holds the encoder, the decoder and its step; every search over that step lives in ``seq2seq.decoding``.

Speed comes from doing per step only what depends on the step: U_a h_j is computed once per batch; the GRU input
[E y_{i-1}; c_i] is projected in two parts, the embedding part for all steps at once (under teacher forcing) or
looked up from a per-word table (when decoding); W_a s and W_hh s share one matrix multiply; and the readout and loss
run once, after the loop, over real target tokens only.

Where the decision to stop comes from is a setting too (``stop``). By default (``"readout"``, the paper's) ``<eos>`` is
a word of the readout like any other, read from s_i, so the decoder state must count the steps, and that count does
not carry past the lengths trained on: the model then says ``<eos>`` too soon while its attention is still on the
right word (Newman, Hewitt, Liang & Manning 2020, "The EOS Decision and Length Extrapolation"). The other settings
read the ``<eos>`` logit from the attention through a learned gate ``w · evidence + b``: ``"attention"`` from how
much more weight the source's own ``<eos>`` gets than any source word, log(alpha_i,eos / max_j alpha_ij);
``"coverage"`` from the least attention any source word has received before step i, min_j sum_{k<i} alpha_kj (near 1
once every word was read), so the model stops when it has read the whole source, whatever its length; ``"gate"`` adds
the ``"attention"`` gate to the readout's ``<eos>`` logit. The gate reads the weights detached: only the words train
the attention. ``benchmarks/length_fix.py`` measures each setting.

``attention="encdec"`` is the paper's baseline, the RNN Encoder-Decoder of Cho et al. (2014, Bahdanau et al.'s
appendix A.2.2): the same decoder and readout, with the context fixed to the encoder's last state, c_i = h_Tx.

The config can switch off single ideas, for the ablation in ``benchmarks/ablation.py``: ``attention="none"`` gives a
plain encoder-decoder whose context is the same mean of the annotations at every step; ``attention_query="current"``
attends from s_i, computed from the previous context, as many popular implementations do; ``bidirectional=False``
reads the source left to right only (s_0 then comes from the last forward state); ``mask_padding=False`` lets
attention fall on padded positions. ``attention_query="none"`` drops the query term W_a s from the location-aware
energy: nothing from the decoder state, and so no count of the steps, reaches the attention (with ``stop="attention"``
nothing reaches the stop either), which then moves by the location term and finds words by the content term alone.
"""

import functools
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .attention import EnergyTerms, build_attention
from .config import Config
from .vocab import EOS_ID, PAD_ID, SOS_ID

UNWRITABLE = (PAD_ID, SOS_ID)
"""Tokens no decode ever writes: ``<pad>`` only fills a batch, ``<sos>`` only starts the decoder. An output holding
one would lose it when turned back into words, shifting every later word against its step's attention row."""


def writable(logits: Tensor) -> Tensor:
    """Decode-time logits (..., V): those of ``UNWRITABLE`` set to -inf, so the softmax spreads over the tokens a
    decoder may write. Every decode (greedy, beam, forced) and ``scoring`` read the model through this."""
    return logits.index_fill(-1, _unwritable_index(logits.device), float("-inf"))


@functools.cache
def _unwritable_index(device: torch.device) -> Tensor:
    """``UNWRITABLE`` as an index tensor on ``device``, made once (it is read at every decoder step)."""
    return torch.tensor(UNWRITABLE, device=device)


# The stop settings whose <eos> logit reads the attention (seq2seq.config.STOP_KINDS)
GATED_STOPS = ("attention", "gate", "coverage")


@dataclass
class EncoderOutput:
    annotations: Tensor  # (B, S, D) h_j, zero at padded positions; D = 2H (H unidirectional)
    mask: Tensor  # (B, S) True at real source positions
    padded: bool  # whether any row has padding (length-bucketed batches mostly have none)
    initial_state: Tensor  # (B, H) s_0
    keys: Tensor  # (B, S, A) U_a h_j, computed once per batch by the attention


class Encoder(nn.Module):
    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, bidirectional: bool = True) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=PAD_ID)
        self.rnn = nn.GRU(embedding_size, hidden_size, batch_first=True, bidirectional=bidirectional)

    def forward(self, src: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Return the annotations (B, S, D) and the state s_0 is built from (B, H): the backward state at the first
        position, or without a backward direction, the forward state at the last real position."""
        embedded = self.embedding(src)  # (B, S, E)
        if bool((src_lengths == src.size(1)).all()):
            annotations, _ = self.rnn(embedded)  # no padding anywhere: packing would change nothing
        else:
            packed = pack_padded_sequence(embedded, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
            annotations, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=src.size(1))
        hidden = self.rnn.hidden_size
        if self.rnn.bidirectional:
            return annotations, annotations[:, 0, hidden:]
        last = (src_lengths - 1).to(src.device)
        return annotations, annotations[torch.arange(src.size(0), device=src.device), last]


class Decoder(nn.Module):
    """A GRU decoder with additive attention whose query is the previous state s_{i-1}."""

    def __init__(self, vocab_size: int, config: Config) -> None:
        super().__init__()
        h, e, a = config.hidden_size, config.embedding_size, config.attention_size
        d = 2 * h if config.bidirectional else h  # annotation size
        self.hidden_size, self.attention_size = h, a
        self.query_current = config.attention_query == "current"
        self.mask_padding = config.mask_padding
        self.embedding = nn.Embedding(vocab_size, e, padding_idx=PAD_ID)
        self.init_state = nn.Linear(h, h)  # W_s
        self.attention = build_attention(config, d)  # U_a, v_a (and U_f); W_a lives in from_state below
        # The GRU's input is [E y_{i-1}; c_i]; its projection is split so each part is computed where it is cheapest.
        self.input_from_embedding = nn.Linear(e, 3 * h)  # W_e (with the input bias)
        self.input_from_context = nn.Linear(d, 3 * h, bias=False)  # W_c
        # W_a (query) and W_hh (recurrence) both read s_{i-1}: one matrix multiply per step serves both. An attention
        # without a query term has no W_a (Q = 0).
        self.query_size = a if self.attention.reads_query else 0  # Q
        self.from_state = nn.Linear(h, self.query_size + 3 * h)
        self.readout = nn.Sequential(nn.Linear(h + d + e, h), nn.Tanh())  # L_o, deep output
        self.output = nn.Linear(h, vocab_size)  # W_o
        self.stop = config.stop
        if self.stop in GATED_STOPS:
            self.stop_gate = nn.Linear(1, 1)  # w, b: the <eos> logit from the end evidence
            nn.init.ones_(self.stop_gate.weight)
            nn.init.zeros_(self.stop_gate.bias)
            if self.stop == "coverage":  # evidence in [0, 1]: start as a soft threshold at half covered
                nn.init.constant_(self.stop_gate.weight, 10.0)
                nn.init.constant_(self.stop_gate.bias, -5.0)

    def prepare(self, annotations: Tensor, first_state_source: Tensor, mask: Tensor) -> EncoderOutput:
        return EncoderOutput(
            annotations=annotations,
            mask=mask,
            padded=not bool(mask.all()),
            initial_state=torch.tanh(self.init_state(first_state_source)),
            keys=self.attention.compute_proj_keys(annotations),
        )

    def attention_mask(self, enc: EncoderOutput) -> Tensor | None:
        """Where attention may fall: the real positions (B, S), or None when no row has padding (or the ablation
        switched the mask off)."""
        # A fixed context (encdec, mean) must find the real positions whatever the ablation does to attention.
        return enc.mask if enc.padded and (self.mask_padding or not self.attention.aligns) else None

    def attention_weights(self, query: Tensor, prev_weights: Tensor, enc: EncoderOutput) -> Tensor:
        """alpha (B, S) from the query W_a s (B, A) (and, location-aware, the previous weights (B, S))."""
        return self.attention(query, enc.keys, prev_weights, self.attention_mask(enc))

    def attention_terms(self, query_state: Tensor, prev_weights: Tensor, enc: EncoderOutput) -> EnergyTerms:
        """A step's attention term by term, from the state it queries with (B, H): s_{i-1} (s_i when
        ``attention_query="current"``) and the previous weights alpha_{i-1} (B, S)."""
        query = self.query(self.from_state(query_state))  # (B, A): W_a s
        return self.attention.terms(query, enc.keys, prev_weights, self.attention_mask(enc))

    def query(self, projected: Tensor) -> Tensor:
        """W_a s (B, A) from a state's projection (B, Q + 3H); zeros when the attention has no query term (Q = 0)."""
        if self.query_size:
            return projected[:, : self.query_size]
        return projected.new_zeros(projected.size(0), self.attention_size)

    def gru(self, input_gates: Tensor, hidden_gates: Tensor, state: Tensor) -> Tensor:
        """A GRU cell from precomputed input (B, 3H) and recurrent (B, 3H) projections."""
        h = self.hidden_size
        reset, update = torch.sigmoid(input_gates[:, : 2 * h] + hidden_gates[:, : 2 * h]).chunk(2, dim=1)
        candidate = torch.tanh(input_gates[:, 2 * h :] + reset * hidden_gates[:, 2 * h :])
        return torch.lerp(candidate, state, update)  # (1 - z) * n + z * s

    def step(
        self,
        input_gates: Tensor,
        state: Tensor,
        prev_weights: Tensor,
        enc: EncoderOutput,
        forced_weights: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """One decoder step: return s_i (B, H), the attention weights alpha_i (B, S) and the context c_i (B, D).

        ``input_gates`` (B, 3H) is the GRU input projection of the previous word's embedding; ``prev_weights`` are
        alpha_{i-1}, used by location-aware attention and when the query is the current state. ``forced_weights``
        (B, S), when given, replace the step's own attention (the Decoder page's "what if it looked here").
        """
        q = self.query_size
        projected = self.from_state(state)  # (B, Q + 3H): W_a s_{i-1} and W_hh s_{i-1}
        if self.query_current:  # s_i from the previous context, then attend with s_i
            previous = context_of(prev_weights, enc)
            state = self.gru(input_gates + self.input_from_context(previous), projected[:, q:], state)
            weights = forced_weights
            if weights is None:
                weights = self.attention_weights(self.query(self.from_state(state)), prev_weights, enc)
            return state, weights, context_of(weights, enc)
        weights = forced_weights
        if weights is None:
            weights = self.attention_weights(self.query(projected), prev_weights, enc)
        context = context_of(weights, enc)
        return self.gru(input_gates + self.input_from_context(context), projected[:, q:], state), weights, context

    @property
    def reads_coverage(self) -> bool:
        """Whether a step needs the sum of the weights before it (``stop="coverage"``); no other setting pays for it."""
        return self.stop == "coverage"

    def end_evidence(self, weights: Tensor, coverage: Tensor | None, enc: EncoderOutput) -> Tensor | None:
        """What a gated stop reads, from a step's weights (B, S) and coverage (B, S), the sum of the weights of the
        steps before it, or from every step's (B, T, S): (B,) or (B, T). ``"coverage"``: the least coverage of any
        source word (near 1 once every word was read); otherwise log(alpha at the source's ``<eos>`` / the largest
        alpha on a source word), above zero once the attention has reached the end marker. None when the stop is
        the readout's. The gate reads the attention and never trains it (the weights are detached): the attention
        learns from the words alone, so nothing asks the decoder state to count the steps. ``coverage`` None: no
        step before this one."""
        if self.stop not in GATED_STOPS:
            return None
        weights = weights.detach()
        last = enc.mask.sum(dim=1) - 1  # (B,): each row's <eos> position
        last = last.view(-1, *[1] * (weights.dim() - 1)).expand(*weights.shape[:-1], 1)  # (B, [T,] 1)
        words = torch.arange(weights.size(-1), device=weights.device) < last  # (B, [T,] S): real source words
        if self.stop == "coverage":
            coverage = torch.zeros_like(weights) if coverage is None else coverage.detach()
            return coverage.masked_fill(~words, float("inf")).amin(dim=-1)  # (B, [T])
        at_end = weights.gather(-1, last).squeeze(-1)  # (B, [T])
        on_word = weights.masked_fill(~words, 0.0).amax(dim=-1)  # (B, [T])
        tiny = torch.finfo(weights.dtype).tiny
        return at_end.clamp_min(tiny).log() - on_word.clamp_min(tiny).log()

    def logits(
        self, states: Tensor, contexts: Tensor, prev_embedded: Tensor, end_evidence: Tensor | None = None
    ) -> Tensor:
        """Readout for any leading shape: [s_i; c_i; E y_{i-1}] -> vocabulary logits. With a gated stop the
        ``<eos>`` logit is (or, ``"gate"``, gains) the gate on ``end_evidence`` (same leading shape)."""
        out = self.output(self.readout(torch.cat([states, contexts, prev_embedded], dim=-1)))  # (..., V)
        if self.stop not in GATED_STOPS:
            return out
        gate = self.stop_gate(end_evidence.unsqueeze(-1))  # (..., 1)
        eos_column = torch.arange(out.size(-1), device=out.device) == EOS_ID  # (V,)
        return out + eos_column * gate if self.stop == "gate" else torch.where(eos_column, gate, out)


def context_of(weights: Tensor, enc: EncoderOutput) -> Tensor:
    """c = sum_j alpha_j h_j: (B, S) weights -> (B, D) context."""
    return torch.bmm(weights.unsqueeze(1), enc.annotations).squeeze(1)


class Seq2Seq(nn.Module):
    def __init__(self, vocab_size: int, config: Config) -> None:
        super().__init__()
        self.encoder = Encoder(vocab_size, config.embedding_size, config.hidden_size, config.bidirectional)
        self.decoder = Decoder(vocab_size, config)

    def encode(self, src: Tensor, src_lengths: Tensor) -> EncoderOutput:
        mask = torch.arange(src.size(1), device=src.device).unsqueeze(0) < src_lengths.unsqueeze(1)  # (B, S)
        annotations, first_state_source = self.encoder(src, src_lengths)
        return self.decoder.prepare(annotations, first_state_source, mask)

    def forward(
        self,
        src: Tensor,
        src_lengths: Tensor,
        tgt_in: Tensor,
        teacher_forcing: float = 1.0,
        select: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Training forward pass. Return (logits, attention (B, T, S)).

        ``tgt_in`` (B, T) is ``<sos>`` followed by the reference without its ``<eos>``. With teacher forcing 1 every
        step reads the reference word; otherwise each row, at each step, reads the reference with that probability
        and its own previous prediction otherwise. Logits are (B, T, V), or (N, V) for the N positions where the
        boolean ``select`` (B, T) is True: the readout then runs on those positions only.
        """
        enc = self.encode(src, src_lengths)
        if teacher_forcing >= 1.0:
            return self._forced(enc, tgt_in, select)
        logits, attention = self._sampled(enc, tgt_in, teacher_forcing)
        return (logits if select is None else logits[select]), attention

    def _forced(self, enc: EncoderOutput, tgt_in: Tensor, select: Tensor | None) -> tuple[Tensor, Tensor]:
        dec = self.decoder
        embedded = dec.embedding(tgt_in)  # (B, T, E)
        input_gates = dec.input_from_embedding(embedded)  # (B, T, 3H): all steps at once
        state, alpha = enc.initial_state, self.no_weights(enc)
        states, weights, contexts = [], [], []
        for t in range(tgt_in.size(1)):
            state, alpha, context = dec.step(input_gates[:, t], state, alpha, enc)
            states.append(state)
            weights.append(alpha)
            contexts.append(context)
        attention = torch.stack(weights, dim=1)  # (B, T, S)
        states_all, contexts = torch.stack(states, dim=1), torch.stack(contexts, dim=1)  # (B, T, H), (B, T, D)
        coverage = attention.cumsum(dim=1) - attention if dec.reads_coverage else None  # (B, T, S): the steps before
        evidence = dec.end_evidence(attention, coverage, enc)  # (B, T), or None when the readout says <eos>
        if select is not None:  # (B, T, ·) -> (N, ·): the readout runs on real target tokens only
            states_all, contexts, embedded = states_all[select], contexts[select], embedded[select]
            evidence = None if evidence is None else evidence[select]
        return dec.logits(states_all, contexts, embedded, evidence), attention

    def _sampled(self, enc: EncoderOutput, tgt_in: Tensor, teacher_forcing: float) -> tuple[Tensor, Tensor]:
        use_reference = torch.rand(tgt_in.shape, device=tgt_in.device) < teacher_forcing  # (B, T)
        state, alpha, tokens = enc.initial_state, self.no_weights(enc), tgt_in[:, 0]
        coverage = alpha if self.decoder.reads_coverage else None
        input_table = self.input_table()
        logits, weights = [], []
        for t in range(tgt_in.size(1)):
            state, alpha, step_logits = self.decode_step(enc, input_table, tokens, state, alpha, coverage=coverage)
            coverage = None if coverage is None else coverage + alpha
            logits.append(step_logits)
            weights.append(alpha)
            if t + 1 < tgt_in.size(1):
                tokens = torch.where(use_reference[:, t + 1], tgt_in[:, t + 1], step_logits.argmax(dim=1))
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)

    def input_table(self) -> Tensor:
        """The GRU input projection of every word's embedding (V, 3H): a lookup per step instead of a multiply.
        Compute it once per decode and pass it to every ``decode_step``."""
        return self.decoder.input_from_embedding(self.decoder.embedding.weight)

    def decode_step(
        self,
        enc: EncoderOutput,
        input_table: Tensor,
        tokens: Tensor,
        state: Tensor,
        alpha: Tensor,
        forced_weights: Tensor | None = None,
        coverage: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """One decoder step that reads a token chosen at run time (the decoding loop's step).

        ``tokens`` (B,) are y_{i-1}, ``state`` (B, H) s_{i-1}, ``alpha`` (B, S) alpha_{i-1} (``no_weights`` at the
        first step), ``input_table`` is ``input_table()``. Returns s_i (B, H), alpha_i (B, S) and the logits (B, V).
        ``forced_weights`` (B, S) replace the step's attention when given. ``coverage`` (B, S) is the sum of the
        weights of the steps before (None: there were none), which ``stop="coverage"`` reads."""
        dec = self.decoder
        embedded = dec.embedding(tokens)  # (B, E)
        state, new_alpha, context = dec.step(input_table[tokens], state, alpha, enc, forced_weights)
        return state, new_alpha, dec.logits(state, context, embedded, dec.end_evidence(new_alpha, coverage, enc))

    @staticmethod
    def no_weights(enc: EncoderOutput) -> Tensor:
        """alpha_0: no previous attention (B, S)."""
        return torch.zeros_like(enc.mask, dtype=enc.annotations.dtype)
