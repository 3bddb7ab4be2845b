"""Each attention kind: its weights, its energy term by term, and the mask."""

import torch

from seq2seq.attention import (
    KIND_EXPLANATIONS,
    AdditiveAttention,
    FixedContext,
    LocationAwareAttention,
    MeanContext,
    build_attention,
    kind_explanation,
    kind_name,
)
from seq2seq.config import Config

B, S, D, A = 2, 5, 6, 4


def setup(kind: type, *args) -> tuple:
    torch.manual_seed(0)
    attention = kind(*args).requires_grad_(False)
    annotations = torch.randn(B, S, D)
    keys = attention.compute_proj_keys(annotations)
    query = torch.randn(B, A)
    prev = torch.softmax(torch.randn(B, S), dim=1)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    return attention, annotations, keys, query, prev, mask


def test_additive_energy_by_hand():
    attention, annotations, keys, query, prev, mask = setup(AdditiveAttention, D, A)
    torch.testing.assert_close(keys, annotations @ attention.key.weight.T + attention.key.bias)
    terms = attention.terms(query, keys, prev, mask)
    v = attention.energy.weight[0]  # (A,)
    by_hand = torch.tanh(query[:, None, :] + keys) @ v  # (B, S): e_ij = v^T tanh(W_a s + U_a h_j)
    torch.testing.assert_close(terms.energies[0], by_hand[0])
    torch.testing.assert_close(terms.energies[1, :3], by_hand[1, :3])
    assert torch.isinf(terms.energies[1, 3:]).all() and float(terms.weights[1, 3:].sum()) == 0.0
    torch.testing.assert_close(terms.weights, attention(query, keys, prev, mask))
    assert terms.location is None and not attention.reads_previous_weights
    # the previous weights change nothing in the 2014 attention
    torch.testing.assert_close(attention(query, keys, torch.zeros(B, S), mask), terms.weights)


def test_location_term_is_a_convolution_of_the_previous_weights():
    attention, _, keys, query, prev, mask = setup(LocationAwareAttention, D, A, 3)
    terms = attention.terms(query, keys, prev, None)
    padded = torch.nn.functional.pad(prev, (1, 1))
    u_f = attention.location.weight  # (A, K)
    for j in range(S):
        torch.testing.assert_close(terms.location[:, j], padded[:, j : j + 3] @ u_f.T)
    v = attention.energy.weight[0]
    torch.testing.assert_close(terms.energies, torch.tanh(query[:, None] + keys + terms.location) @ v)
    torch.testing.assert_close(terms.weights.sum(1), torch.ones(B))
    assert not torch.allclose(attention(query, keys, torch.zeros(B, S), None), terms.weights)


def test_mean_context_weighs_every_real_position_alike():
    attention, _, keys, query, prev, mask = setup(MeanContext)
    weights = attention(query, keys, prev, mask)
    torch.testing.assert_close(weights[1], torch.tensor([1 / 3] * 3 + [0.0, 0.0]))
    torch.testing.assert_close(weights[0], torch.full((S,), 1 / S))
    torch.testing.assert_close(torch.softmax(attention.terms(query, keys, prev, mask).energies, 1), weights)
    assert keys.shape == (B, S, 0) and not list(attention.parameters())


def test_build_attention_picks_the_kind_the_config_names():
    assert type(build_attention(Config(attention="additive"), D)) is AdditiveAttention
    assert type(build_attention(Config(attention="location"), D)) is LocationAwareAttention
    assert type(build_attention(Config(attention="none"), D)) is MeanContext
    assert type(build_attention(Config(attention="encdec"), D)) is FixedContext


def test_fixed_context_is_one_hot_on_the_last_real_position_whatever_the_query():
    attention, _, keys, query, prev, mask = setup(FixedContext)
    weights = attention(query, keys, prev, mask)
    torch.testing.assert_close(weights, torch.tensor([[0.0, 0, 0, 0, 1], [0, 0, 1, 0, 0]]))
    torch.testing.assert_close(attention(torch.randn(B, A), keys, torch.rand(B, S), mask), weights)
    torch.testing.assert_close(attention(query, keys, prev, None)[1], torch.tensor([0.0, 0, 0, 0, 1]))
    assert not attention.aligns and keys.shape == (B, S, 0)


def test_a_model_is_named_by_its_kind_and_how_it_departs_from_it():
    assert kind_name(Config()) == "location-aware attention"
    assert kind_explanation(Config()) == KIND_EXPLANATIONS["location"]
    assert kind_name(Config(attention="encdec")) == "encoder–decoder, no attention"
    stop = Config(stop="attention", attention_query="none")
    assert kind_name(stop) == "location-aware attention without a query, stop read from the attention"
    explained = kind_explanation(stop)
    assert explained.startswith(KIND_EXPLANATIONS["location"] + " ")
    assert "no count of the steps in its state can move its attention" in explained
    assert "a learned gate on the weight its attention gives the input's end marker" in explained
    assert kind_name(Config(stop="coverage")) == "location-aware attention, stop read from the coverage"
