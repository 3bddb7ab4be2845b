"""Where the decision to stop comes from (Config.stop): the readout's <eos> (the paper's), or a learned gate on the
attention (its weight on the source's <eos>, or its coverage of the source words)."""

from pathlib import Path

import pytest
import torch

from seq2seq.batching import make_batch
from seq2seq.checkpoint import checkpoint_from_payload, load_checkpoint
from seq2seq.config import Config
from seq2seq.data import load_run_data
from seq2seq.decoding import Reverser, search
from seq2seq.metrics import evaluate_results
from seq2seq.model import Seq2Seq, writable
from seq2seq.paths import REPO_ROOT
from seq2seq.run_folder import Trainer
from seq2seq.vocab import EOS_ID, PAD_ID
from tests.conftest import tiny_config

V, B, S, T = 20, 3, 6, 5
SHIPPED = [REPO_ROOT / "artifacts" / "model.pt", *sorted((REPO_ROOT / "artifacts").glob("*/model.pt"))]
STOP_MODEL = REPO_ROOT / "artifacts" / "stop" / "model.pt"  # the one shipped model whose stop is not the readout's


def gated_model(stop: str) -> Seq2Seq:
    torch.manual_seed(0)
    config = Config(embedding_size=8, hidden_size=12, attention_size=10, stop=stop)
    return Seq2Seq(V, config).eval().requires_grad_(False)


def inputs():
    torch.manual_seed(1)
    src = torch.randint(4, V, (B, S))
    lengths = torch.tensor([6, 4, 2])
    for row, n in enumerate(lengths):
        src[row, n - 1] = EOS_ID
        src[row, n:] = PAD_ID
    tgt_in = torch.randint(4, V, (B, T))
    return src, lengths, tgt_in


def gate_of(model: Seq2Seq, evidence: torch.Tensor) -> torch.Tensor:
    gate = model.decoder.stop_gate
    return gate.weight[0, 0] * evidence + gate.bias[0]


# Row 0: 5 words, <eos> at 5. Row 1: 2 words, <eos> at 2, then padding.
MASK = torch.tensor([[True] * 6, [True, True, True, False, False, False]])
WEIGHTS = torch.tensor([[0.1, 0.05, 0.05, 0.1, 0.1, 0.6], [0.7, 0.2, 0.1, 0.0, 0.0, 0.0]])
COVERAGE = torch.tensor([[1.0, 0.9, 1.0, 1.1, 1.0, 0.3], [0.2, 1.0, 0.0, 0.0, 0.0, 0.0]])


def evidence_of(stop: str, weights: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
    model = gated_model(stop)
    enc = model.encode(torch.full((2, 6), 5), MASK.sum(dim=1))
    return model.decoder.end_evidence(weights, coverage, enc)


def test_the_attention_stop_reads_the_log_ratio_of_the_eos_weight_to_the_largest_word_weight():
    evidence = evidence_of("attention", WEIGHTS, COVERAGE)
    torch.testing.assert_close(evidence, torch.tensor([0.6 / 0.1, 0.1 / 0.7]).log())
    every_step = evidence_of("attention", torch.stack([WEIGHTS, WEIGHTS.flip(0)], dim=1), COVERAGE.unsqueeze(1))
    torch.testing.assert_close(every_step[:, 0], evidence)  # (B, T) weights give the same per step


def test_the_coverage_stop_reads_the_least_coverage_of_any_source_word():
    """The <eos> and padding columns never count: row 0's least covered word has 0.9, row 1's has 0.2."""
    torch.testing.assert_close(evidence_of("coverage", WEIGHTS, COVERAGE), torch.tensor([0.9, 0.2]))


@pytest.mark.parametrize("stop", ["attention", "coverage"])
def test_a_gated_stop_reads_the_eos_logit_from_the_attention_alone(stop):
    """The <eos> logit is w * evidence + b at every step (coverage: the weights of the steps before), whatever the
    readout says; raising the readout's own <eos> bias changes nothing."""
    src, lengths, tgt_in = inputs()
    model = gated_model(stop)
    logits, attention = model(src, lengths, tgt_in)
    coverage = attention.cumsum(dim=1) - attention
    evidence = model.decoder.end_evidence(attention, coverage, model.encode(src, lengths))
    torch.testing.assert_close(logits[..., EOS_ID], gate_of(model, evidence))
    model.decoder.output.bias[EOS_ID] += 100.0
    torch.testing.assert_close(model(src, lengths, tgt_in)[0], logits)


def test_the_gate_stop_adds_the_attention_gate_to_the_readouts_eos_logit():
    src, lengths, tgt_in = inputs()
    gated, readout = gated_model("gate"), gated_model("readout")
    readout.load_state_dict({k: v for k, v in gated.state_dict().items() if not k.startswith("decoder.stop_gate")})
    logits, attention = gated(src, lengths, tgt_in)
    plain, _ = readout(src, lengths, tgt_in)
    evidence = gated.decoder.end_evidence(attention, torch.zeros_like(attention), gated.encode(src, lengths))
    torch.testing.assert_close(logits[..., EOS_ID], plain[..., EOS_ID] + gate_of(gated, evidence))
    torch.testing.assert_close(logits[..., EOS_ID + 1 :], plain[..., EOS_ID + 1 :])


@pytest.mark.parametrize("stop", ["attention", "coverage"])
def test_greedy_decoding_gives_the_eos_logit_the_gate_of_the_training_pass(stop):
    """Step by step, the decoder carries the coverage itself; its choices are the all-steps pass's on its own words."""
    src, lengths, _ = inputs()
    model = gated_model(stop)
    model.decoder.stop_gate.bias -= 3.0  # a random model would otherwise stop at once: decode a few words
    best = search(model, src, lengths, margin=0)[0][0]  # the unpadded row
    tgt_in = torch.tensor([[1, *best.ids[:-1]]])  # <sos>, then its own words
    logits, attention = model(src[:1], lengths[:1], tgt_in)
    torch.testing.assert_close(attention[0], torch.tensor(best.attention))
    assert len(best.ids) > 1 and writable(logits[0]).argmax(dim=1).tolist() == best.ids


def test_a_stop_needs_attention_that_aligns_and_old_configs_mean_the_readouts():
    with pytest.raises(ValueError, match="stop"):
        Config(stop="coverage", attention="encdec")
    with pytest.raises(ValueError, match="stop"):
        Config(stop="never")
    old = Config().to_dict()
    del old["stop"]
    assert Config.from_dict(old).stop == "readout"


@pytest.fixture(scope="module")
def coverage_run(tmp_path_factory, tiny_corpus) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("coverage_run")
    config = tiny_config(train_file=tiny_corpus.name, target_accuracy=1.0, stop="coverage")
    Trainer(config, load_run_data(config, tiny_corpus), out, log=lambda line: None).run()
    return out / "model.pt"


def test_a_tiny_model_with_the_coverage_stop_learns_to_reverse(coverage_run):
    checkpoint = load_checkpoint(coverage_run)
    assert checkpoint.config.stop == "coverage"
    assert checkpoint.metrics["test"]["exact_match"] >= 0.9


def test_every_hypothesis_of_a_beam_scores_as_the_training_pass_scores_its_words(coverage_run):
    """A beam reorders its hypotheses at every step; each carries its own coverage, so every token's log-probability
    is the one the all-steps pass (coverage from the cumulative weights) gives the same words."""
    reverser = Reverser.load(coverage_run)
    model = reverser.model
    sentences = [s for s in reverser.checkpoint.test_sentences if len(s) == 4][:20]
    assert sentences
    made = make_batch(sentences, reverser.vocab)
    found = search(model, made.src, made.src_lengths, beam=6, n_best=6)
    checked = 0
    for row, hypotheses in enumerate(found):
        for hypothesis in hypotheses:
            tgt_in = torch.tensor([[1, *hypothesis.ids[:-1]]])
            with torch.no_grad():
                logits, _ = model(made.src[row : row + 1], made.src_lengths[row : row + 1], tgt_in)
            log_probs = torch.log_softmax(writable(logits[0]), dim=1)  # (T, V)
            expected = log_probs.gather(1, torch.tensor(hypothesis.ids).unsqueeze(1)).squeeze(1)
            torch.testing.assert_close(torch.tensor(hypothesis.token_log_probs), expected, atol=1e-4, rtol=1e-4)
            checked += hypothesis.ended
    assert checked >= len(sentences)


def decodes_as_scored(checkpoint) -> bool:
    """Whether the checkpoint scores its test split exactly as it stored when it was trained."""
    reverser = Reverser.from_checkpoint(checkpoint)
    stored = checkpoint.metrics["test"]
    again = evaluate_results(reverser.reverse_tokens(checkpoint.test_sentences), aligns=True)
    return (again.correct, again.total, again.token_accuracy) == (
        stored["correct"],
        stored["total"],
        stored["token_accuracy"],
    )


@pytest.mark.parametrize("path", [p for p in SHIPPED if p != STOP_MODEL], ids=lambda p: p.parent.name)
def test_shipped_checkpoints_keep_the_readouts_stop_and_decode_their_test_split_as_they_scored(path):
    """The shipped models with the paper's stop have no gate and score their test split exactly as stored when they
    were trained; so does each as a checkpoint saved before ``stop`` existed (its config without the field)."""
    torch.set_num_threads(1)
    payload = torch.load(path, weights_only=True)
    older = {**payload, "config": {k: v for k, v in payload["config"].items() if k != "stop"}}
    for checkpoint in (load_checkpoint(path), checkpoint_from_payload(older)):
        assert checkpoint.config.stop == "readout"
        assert not any(name.startswith("decoder.stop_gate") for name in checkpoint.state_dict)
        assert decodes_as_scored(checkpoint)


def test_the_shipped_stop_model_reads_its_stop_from_the_attention_and_decodes_its_test_split_as_it_scored():
    torch.set_num_threads(1)
    checkpoint = load_checkpoint(STOP_MODEL)
    config = checkpoint.config
    assert (config.attention, config.stop, config.attention_query) == ("location", "attention", "none")
    assert "decoder.stop_gate.weight" in checkpoint.state_dict
    assert checkpoint.state_dict["decoder.from_state.weight"].shape[0] == 3 * config.hidden_size  # no W_a
    assert decodes_as_scored(checkpoint)


@pytest.mark.parametrize("stop", ["attention", "coverage"])
def test_the_gate_reads_the_attention_and_never_trains_it(stop):
    """Only the words train the attention: the <eos> logit's gradient reaches the gate and nothing before it."""
    src, lengths, tgt_in = inputs()
    model = gated_model(stop).train().requires_grad_(True)
    logits, _ = model(src, lengths, tgt_in)
    logits[..., EOS_ID].sum().backward()
    assert model.decoder.stop_gate.weight.grad.abs().sum() > 0
    reached = [name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
    assert reached == ["decoder.stop_gate.weight", "decoder.stop_gate.bias"]


def test_greedy_decoding_stops_once_every_source_word_has_half_a_step_of_attention():
    """A coverage gate set to fire at 0.5: each row says <eos> at the first step before which every source word has
    received more than half a step of attention, counted from the weights it decoded with."""
    src, lengths, _ = inputs()
    model = gated_model("coverage")
    model.decoder.stop_gate.weight.fill_(50.0)
    model.decoder.stop_gate.bias.fill_(-25.0)
    found = search(model, src, lengths, margin=0)  # a row takes at most n steps (its length, <eos> included)
    stopped = 0
    for row, n in enumerate(lengths.tolist()):
        best = found[row][0]
        weights = torch.tensor(best.attention)[:, : n - 1]  # (steps, words)
        read = (weights.cumsum(dim=0) - weights).amin(dim=1) > 0.5  # (steps,): every word read before the step
        said = best.ids
        if read.any():
            first = int(read.int().argmax())
            assert said[first] == EOS_ID and EOS_ID not in said[:first]
            stopped += 1
        else:
            assert EOS_ID not in said
    assert stopped >= 1
