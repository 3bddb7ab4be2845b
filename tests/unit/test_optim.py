import copy
import random

import pytest
import torch

from seq2seq.batching import bucketed_batches
from seq2seq.config import Config
from seq2seq.corpus import generate_corpus
from seq2seq.model import Seq2Seq
from seq2seq.optim import Adam, adam_update, plan_chunks
from seq2seq.train import masked_loss
from seq2seq.vocab import Vocabulary


def paired_runs(manual_kwargs: dict, reference_cls, reference_kwargs: dict, steps: int = 120):
    """Train two copies of the real model, one per optimizer, on the same batches; return both models."""
    sentences = generate_corpus(400, 1, 8, 0.25, seed=0)
    vocab = Vocabulary.build(sentences)
    batches = bucketed_batches(sentences, vocab, 32, random.Random(0))
    config = Config(embedding_size=16, hidden_size=24, attention_size=16)
    torch.manual_seed(0)
    mine = Seq2Seq(len(vocab), config).double()
    theirs = Seq2Seq(len(vocab), config).double()
    theirs.load_state_dict(mine.state_dict())
    optimizers = [Adam(mine.parameters(), **manual_kwargs), reference_cls(theirs.parameters(), **reference_kwargs)]
    for step in range(steps):
        batch = batches[step % len(batches)]
        for model, optimizer in zip((mine, theirs), optimizers, strict=True):
            optimizer.zero_grad()
            loss, _ = masked_loss(model, batch, 1.0)
            loss.backward()
            optimizer.step()
    return mine, theirs


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_matches_torch_adam_on_the_real_model(weight_decay):
    kwargs = dict(lr=3e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=weight_decay)
    mine, theirs = paired_runs(kwargs, torch.optim.Adam, kwargs)
    for (name, a), b in zip(mine.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)


def test_decoupled_weight_decay_matches_torch_adamw():
    kwargs = dict(lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
    mine, theirs = paired_runs({**kwargs, "decoupled_weight_decay": True}, torch.optim.AdamW, kwargs, steps=100)
    for a, b in zip(mine.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_weight_decay_is_l2_not_decoupled():
    """With L2 decay and zero gradient, Adam's normalised step is a full lr step against the sign of the weight."""
    p = torch.nn.Parameter(torch.tensor([2.0, -2.0]))
    opt = Adam([p], lr=0.1, weight_decay=1.0)
    p.grad = torch.zeros(2)
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([1.9, -1.9]))


def test_parameters_without_gradients_are_left_alone_and_bad_settings_refused():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = Adam([a, b], lr=0.1)
    a.grad = torch.ones(2)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(2)) and not torch.equal(a.detach(), torch.ones(2))
    with pytest.raises(ValueError):
        Adam([a], lr=-1)
    with pytest.raises(ValueError):
        Adam([a], betas=(1.0, 0.9))


@pytest.mark.parametrize("decoupled", [False, True])
def test_the_fast_step_gives_the_plain_per_parameter_update(decoupled):
    """``Adam.step`` (chunked, cutting tensors mid-row) and ``adam_update`` (the paper's equations on one parameter)
    give the same weights, step after step, on tensors of several shapes, one of them not contiguous."""
    torch.manual_seed(0)
    shapes = [(3,), (40, 7), (5, 5, 3), (1,)]
    fast = [torch.nn.Parameter(torch.randn(shape, dtype=torch.float64)) for shape in shapes]
    fast.append(torch.nn.Parameter(torch.randn(6, 9, dtype=torch.float64).t()))
    plain = [p.detach().clone() for p in fast]
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in plain]
    settings = dict(lr=1e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, decoupled_weight_decay=decoupled)
    optimizer = Adam(fast, chunk_elements=37, **settings)
    for t in range(1, 6):
        grads = [torch.randn_like(p) for p in plain]
        for p, g in zip(fast, grads, strict=True):
            p.grad = g.clone()
        optimizer.step()
        for p, g, (m, v) in zip(plain, grads, moments, strict=True):
            adam_update(p, g, m, v, t, **settings)
    for a, b in zip(fast, plain, strict=True):
        torch.testing.assert_close(a.detach(), b, atol=1e-12, rtol=0)


# ------------------------------------------------------------------------------------------------- chunked update
@pytest.mark.parametrize("chunk_elements", [37, 2**16])
def test_chunked_update_matches_torch_adam_whatever_the_chunk_size(chunk_elements):
    """Chunks that cut tensors mid-row and chunks that hold many tensors give torch's result."""
    kwargs = dict(lr=3e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    mine, theirs = paired_runs({**kwargs, "chunk_elements": chunk_elements}, torch.optim.Adam, kwargs, steps=30)
    for (name, a), b in zip(mine.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)


def test_plan_chunks_covers_every_element_once_and_respects_the_limit():
    params = [torch.zeros(5, 7), torch.zeros(3), torch.zeros(0), torch.zeros(40), torch.zeros(4, 6).t()]
    chunks = plan_chunks(params, limit=16)
    seen = [torch.zeros(p.numel(), dtype=torch.int64) for p in params]
    for chunk in chunks:
        assert sum(end - start for _, start, end in chunk) <= 16 or len(chunk) == 1
        for index, start, end in chunk:
            seen[index][start:end] += 1
    assert all(bool((count == 1).all()) for count in seen)
    assert [(i, s, e) for chunk in chunks for i, s, e in chunk if i == 4] == [(4, 0, 24)]  # non-contiguous: whole


def test_large_and_non_contiguous_tensors_and_a_reloaded_state_match_torch():
    """Tensors larger than a chunk, a transposed (non-contiguous) one, and going back to a state saved earlier (new
    state tensors holding other numbers, so the kept slices must be made again) all follow torch.optim.Adam to 1e-6."""
    torch.manual_seed(0)
    start = [torch.randn(300, 20), torch.randn(7), torch.randn(20, 30).t()]
    mine = [torch.nn.Parameter(t.clone().double()) for t in start[:2]] + [torch.nn.Parameter(start[2].double())]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in mine]
    assert not mine[2].is_contiguous()
    ours, reference = Adam(mine, lr=1e-2, chunk_elements=1000), torch.optim.Adam(theirs, lr=1e-2)
    pairs = ((mine, ours), (theirs, reference))
    saved = None
    for step in range(12):
        grads = [torch.randn_like(p) for p in mine]
        for params, optimizer in pairs:
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            optimizer.step()
        if step == 3:
            saved = [([p.detach().clone() for p in params], copy.deepcopy(opt.state_dict())) for params, opt in pairs]
        if step == 7:  # back to step 3, as resuming from a checkpoint does
            for (params, optimizer), (values, state) in zip(pairs, saved, strict=True):
                with torch.no_grad():
                    for p, value in zip(params, values, strict=True):
                        p.copy_(value)
                optimizer.load_state_dict(state)
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_defaults_are_torchs_adam_defaults():
    p = torch.nn.Parameter(torch.ones(2))
    mine, theirs = Adam([p]).defaults, torch.optim.Adam([p]).defaults
    for key in ("lr", "betas", "eps", "weight_decay"):
        assert mine[key] == theirs[key], key
    assert mine["decoupled_weight_decay"] is False


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lr": -1e-9}, "invalid learning rate: -1e-09"),
        ({"betas": (-0.1, 0.9)}, r"invalid betas: \(-0.1, 0.9\)"),
        ({"betas": (0.9, 1.0)}, r"invalid betas: \(0.9, 1.0\)"),
        ({"betas": (1.0, 0.9)}, r"invalid betas: \(1.0, 0.9\)"),
        ({"eps": -1e-9}, "invalid eps: -1e-09"),
        ({"weight_decay": -0.1}, "invalid weight_decay: -0.1"),
    ],
)
def test_settings_outside_their_range_are_refused_with_the_value(settings, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        Adam([torch.nn.Parameter(torch.ones(2))], **settings)


def test_the_edges_of_each_range_are_allowed():
    Adam([torch.nn.Parameter(torch.ones(2))], lr=0.0, betas=(0.0, 0.0), eps=0.0, weight_decay=0.0)
    Adam([torch.nn.Parameter(torch.ones(2))], betas=(0.999999, 0.999999))
