"""Attention, one class per kind, all with one interface.

Each kind projects the annotations once per batch (``compute_proj_keys``: U_a h_j) and then, at every decoder step,
turns the projected query W_a s_{i-1} (and, location-aware, the previous weights alpha_{i-1}) into the weights
alpha_i over the source positions. The decoder computes W_a s_{i-1} together with its GRU's recurrent projection in
one matrix multiply, so a kind receives the query already projected.

- ``AdditiveAttention`` is Bahdanau, Cho & Bengio (2014): e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j).
- ``LocationAwareAttention`` adds Chorowski, Bahdanau et al. (2015)'s location term, a convolution of the previous
  weights: e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j + U_f (F * alpha_{i-1})_j).
- ``FixedContext`` is not attention: the RNN Encoder-Decoder of Cho et al. (2014), the baseline of Bahdanau et al.
  (2014, appendix A.2.2), whose context is the encoder's last state at every step, c_i = h_Tx. Its weights are one-hot
  on the last real source position (the ``<eos>`` every source ends with, the last symbol the encoder reads), so
  ``context_of`` gives h_Tx literally; they are not an alignment.
- ``MeanContext`` is not attention either: the same mean of the annotations at every step (the ablation's
  "mean context", kept as a second no-attention baseline that sees every word, unlike h_Tx).

``terms`` returns a step's energy term by term (the vectors inside the tanh, and the energies and weights they
make), for pages that show *why* the weights land where they do; ``forward`` is its weights.
"""

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .config import Config

# What each kind is called, and what it means, in words a learner understands (the app, the docs' tables).
KIND_NAMES = {
    "location": "location-aware attention",
    "additive": "2014 additive attention",
    "encdec": "encoder–decoder, no attention",
    "none": "no attention, mean of the encoder states",
}
KIND_EXPLANATIONS = {
    "location": "Bahdanau's 2014 attention plus a memory of where it looked last (Chorowski et al. 2015): each output "
    "word looks at the input words, and it can learn “one to the left of last time” directly.",
    "additive": "the model of the 2014 paper (Bahdanau, Cho & Bengio), exactly: for each output word the decoder "
    "looks back over all the input words and picks where to read from what it has written so far.",
    "encdec": "the paper's baseline (Cho et al. 2014): no attention at all. At every step the decoder sees one fixed "
    "summary, the encoder's last state, so the whole sentence must fit in one fixed-size vector.",
    "none": "not attention: at every step the decoder sees the same average of the encoder states, never a "
    "particular word.",
}

# How a model departs from its kind in when it stops (Config.stop other than the readout's), and in what its
# attention is queried with (Config.attention_query "none"), in the same words.
STOP_NAMES = {
    "attention": "stop read from the attention",
    "gate": "stop from the readout and the attention",
    "coverage": "stop read from the coverage",
}
STOP_EXPLANATIONS = {
    "attention": "Its score for stopping comes from a learned gate on the weight its attention gives the input's end "
    "marker, not from its state, which would have to count the steps.",
    "gate": "Its score for stopping comes from its state, plus a learned gate on the weight its attention gives the "
    "input's end marker.",
    "coverage": "Its score for stopping comes from a learned gate on how much attention the least-read input word has "
    "had so far.",
}
NO_QUERY_EXPLANATION = (
    "Where it looks comes from the words and from where it looked last alone, never from its state, so no count of "
    "the steps in its state can move its attention."
)


def kind_name(config: Config) -> str:
    """What a model is, in a few words: its attention kind (``KIND_NAMES``), and where it departs from it."""
    name = KIND_NAMES.get(config.attention, config.attention)
    if config.attention_query == "none":
        name += " without a query"
    return name + (f", {STOP_NAMES[config.stop]}" if config.stop in STOP_NAMES else "")


def departures(config: Config) -> str:
    """How the model departs from its kind (no query, another stop), in sentences; empty when it does not."""
    parts = [NO_QUERY_EXPLANATION] if config.attention_query == "none" else []
    return " ".join([*parts, *([STOP_EXPLANATIONS[config.stop]] if config.stop in STOP_EXPLANATIONS else [])])


def kind_explanation(config: Config) -> str:
    """What ``kind_name`` means, in sentences a learner understands."""
    return " ".join(part for part in (KIND_EXPLANATIONS.get(config.attention, ""), departures(config)) if part)


EnergyTerm = Literal["location", "content", "query"]
ENERGY_TERMS: tuple[EnergyTerm, ...] = get_args(EnergyTerm)
TERM_NAMES: dict[EnergyTerm, str] = {
    "location": "the location term U_f (F * alpha_{i-1})_j (where it looked last)",
    "content": "the content term U_a h_j (the word at each position)",
    "query": "the query term W_a s_{i-1} (the decoder's state)",
}


@dataclass
class EnergyTerms:
    """One decoder step's attention, term by term. A is the attention size, S the source length."""

    query: Tensor  # (B, A) W_a s_{i-1}
    keys: Tensor  # (B, S, A) U_a h_j
    location: Tensor | None  # (B, S, A) U_f (F * alpha_{i-1})_j; None for kinds without a location term
    energies: Tensor  # (B, S) e_ij, -inf at masked positions
    weights: Tensor  # (B, S) alpha_ij = softmax_j(e_ij)


class Attention(nn.Module):
    """The interface every kind implements."""

    reads_previous_weights = False  # whether alpha_{i-1} changes alpha_i
    aligns = True  # whether the weights are an alignment computed from the query (False: a fixed context)
    reads_query = True  # whether the energy has a query term W_a s (the decoder then computes W_a s for it)
    energy_terms: tuple[EnergyTerm, ...] = ()  # the terms inside its energy that ``switched_off`` can zero
    switched_off: EnergyTerm | None = None  # an inference-time ablation: this term is zeroed (``seq2seq.ablate``)

    def compute_proj_keys(self, annotations: Tensor) -> Tensor:
        """(B, S, D) annotations -> (B, S, A) keys, once per batch."""
        raise NotImplementedError

    def forward(self, query: Tensor, keys: Tensor, prev_weights: Tensor, mask: Tensor | None) -> Tensor:
        """alpha_i (B, S) from the projected query (B, A), the keys (B, S, A) and alpha_{i-1} (B, S). ``mask`` (B, S)
        is True at real source positions, or None when attention may fall anywhere."""
        return self.terms(query, keys, prev_weights, mask).weights

    def terms(self, query: Tensor, keys: Tensor, prev_weights: Tensor, mask: Tensor | None) -> EnergyTerms:
        raise NotImplementedError

    @staticmethod
    def _check(query: Tensor, keys: Tensor, prev_weights: Tensor) -> None:
        batch, length, size = keys.shape
        assert query.shape == (batch, size), f"query {tuple(query.shape)} does not fit keys {tuple(keys.shape)}"
        assert prev_weights.shape == (batch, length), f"previous weights {tuple(prev_weights.shape)} vs keys"


class AdditiveAttention(Attention):
    """Bahdanau, Cho & Bengio (2014): e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)."""

    energy_terms: tuple[EnergyTerm, ...] = ("content", "query")

    def __init__(self, annotation_size: int, attention_size: int) -> None:
        super().__init__()
        self.key = nn.Linear(annotation_size, attention_size)  # U_a (its bias plays the role of a bias in the tanh)
        self.energy = nn.Linear(attention_size, 1, bias=False)  # v_a

    def compute_proj_keys(self, annotations: Tensor) -> Tensor:
        return self.key(annotations)  # (B, S, A)

    def location_term(self, prev_weights: Tensor) -> Tensor | None:
        return None

    def terms(self, query: Tensor, keys: Tensor, prev_weights: Tensor, mask: Tensor | None) -> EnergyTerms:
        self._check(query, keys, prev_weights)
        if self.switched_off == "query":  # each term is zeroed whole, bias included, as EnergyTerms holds it
            query = torch.zeros_like(query)
        if self.switched_off == "content":
            keys = torch.zeros_like(keys)
        features = keys + query.unsqueeze(1)  # (B, S, A)
        location = None if self.switched_off == "location" else self.location_term(prev_weights)
        if location is not None:
            features = features + location
        energies = self.energy(torch.tanh(features)).squeeze(2)  # (B, S)
        if mask is not None:
            energies = energies.masked_fill(~mask, float("-inf"))
        return EnergyTerms(query, keys, location, energies, torch.softmax(energies, dim=1))


class LocationAwareAttention(AdditiveAttention):
    """Chorowski, Bahdanau et al. (2015): the 2014 energy plus U_f (F * alpha_{i-1})_j, a convolution of the previous
    weights straight into the attention space, written as one linear map of the window around j. Without a query
    (``reads_query=False``, ``Config.attention_query="none"``) the energy is v_a^T tanh(U_a h_j + U_f (F *
    alpha_{i-1})_j): where to look comes from the words and from where it looked last, never from the decoder state;
    the decoder then passes a zero query."""

    reads_previous_weights = True
    energy_terms: tuple[EnergyTerm, ...] = ("location", "content", "query")

    def __init__(self, annotation_size: int, attention_size: int, kernel: int, reads_query: bool = True) -> None:
        super().__init__(annotation_size, attention_size)
        self.reads_query = reads_query
        if not reads_query:
            self.energy_terms = ("location", "content")
        self.kernel = kernel
        self.location = nn.Linear(kernel, attention_size, bias=False)  # U_f F

    def location_term(self, prev_weights: Tensor) -> Tensor:
        half = self.kernel // 2
        windows = F.pad(prev_weights, (half, half)).unfold(1, self.kernel, 1)  # (B, S, K)
        return self.location(windows)  # (B, S, A)


class FixedContext(Attention):
    """No attention, Cho et al. (2014)'s RNN Encoder-Decoder: c_i = h_Tx, the annotation at the last real source
    position (the source's ``<eos>``), at every step. With a bidirectional encoder h_Tx = [forward_Tx; backward_Tx]:
    the forward half has read the whole sentence, the backward half only that end marker (and s_0 = tanh(W_s
    backward_1) has read it right to left). Nothing here depends on the query or on the step."""

    aligns = False

    def compute_proj_keys(self, annotations: Tensor) -> Tensor:
        return annotations.new_zeros(*annotations.shape[:2], 0)  # (B, S, 0): nothing to project

    def terms(self, query: Tensor, keys: Tensor, prev_weights: Tensor, mask: Tensor | None) -> EnergyTerms:
        batch, length = prev_weights.shape
        if mask is None:
            last = torch.full((batch,), length - 1, dtype=torch.long, device=prev_weights.device)
        else:
            last = mask.long().sum(dim=1) - 1  # (B,): index of each row's last real position
        weights = F.one_hot(last, length).to(prev_weights.dtype)  # (B, S)
        return EnergyTerms(query, keys, None, weights.log(), weights)  # energies whose softmax is the one-hot


class MeanContext(Attention):
    """No attention: every step's weights are the same mean over the real source positions."""

    aligns = False

    def compute_proj_keys(self, annotations: Tensor) -> Tensor:
        return annotations.new_zeros(*annotations.shape[:2], 0)  # (B, S, 0): nothing to project

    def terms(self, query: Tensor, keys: Tensor, prev_weights: Tensor, mask: Tensor | None) -> EnergyTerms:
        real = torch.ones_like(prev_weights) if mask is None else mask.to(prev_weights.dtype)  # (B, S)
        weights = real / real.sum(dim=1, keepdim=True)
        return EnergyTerms(query, keys, None, weights.log(), weights)  # energies whose softmax is the mean


def kind_aligns(kind: str) -> bool:
    """Whether the attention kind ``kind`` (a ``Config.attention``) computes an alignment (``Attention.aligns``)."""
    classes = {"additive": AdditiveAttention, "location": LocationAwareAttention, "encdec": FixedContext}
    return classes.get(kind, MeanContext).aligns


def build_attention(config: Config, annotation_size: int) -> Attention:
    """The attention kind ``config.attention`` names."""
    if config.attention == "additive":
        return AdditiveAttention(annotation_size, config.attention_size)
    if config.attention == "location":
        reads_query = config.attention_query != "none"
        return LocationAwareAttention(annotation_size, config.attention_size, config.location_kernel, reads_query)
    if config.attention == "encdec":
        return FixedContext()
    if config.attention == "none":
        return MeanContext()
    raise ValueError(f"unknown attention kind {config.attention!r}")
