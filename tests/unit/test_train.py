import csv
import math

import pytest
import torch

from seq2seq.batching import bucketed_batches, make_batch
from seq2seq.checkpoint import load_checkpoint
from seq2seq.config import Config
from seq2seq.data import load_run_data
from seq2seq.model import Seq2Seq
from seq2seq.optim import Adam
from seq2seq.records import HISTORY_COLUMNS
from seq2seq.run_folder import Trainer
from seq2seq.train import masked_loss, snapshot_sentences
from seq2seq.vocab import Vocabulary
from tests.conftest import tiny_config


def test_loss_ignores_padding():
    vocab = Vocabulary.build([["a", "b", "c"]])
    torch.manual_seed(0)
    model = Seq2Seq(len(vocab), Config(embedding_size=8, hidden_size=8, attention_size=8))
    alone = make_batch([["a"]], vocab)
    padded = make_batch([["a"], ["a", "b", "c"]], vocab)
    loss_alone, n_alone = masked_loss(model, alone, 1.0)
    # the padded row's loss, computed inside a padded batch, must equal it computed alone
    logits, _ = model(padded.src, padded.src_lengths, padded.tgt_in)
    row = torch.nn.functional.cross_entropy(logits[0, :2], padded.tgt_out[0, :2])
    torch.testing.assert_close(row, loss_alone)
    assert n_alone == 2 and masked_loss(model, padded, 1.0)[1] == 2 + 4


def test_a_short_run_learns_to_reverse_and_writes_its_run_folder(tiny_run):
    checkpoint = load_checkpoint(tiny_run / "model.pt")
    assert checkpoint.metrics["test"]["exact_match"] >= 0.9
    length3 = checkpoint.metrics["test"]["per_length"]["3"]
    assert length3["exact_match"] >= 0.9 and length3["total"] >= 5
    with open(tiny_run / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == HISTORY_COLUMNS
    assert len(rows) == len(checkpoint.history) >= 2
    assert float(rows[-1]["valid_loss"]) < float(rows[0]["valid_loss"])
    assert all(float(r["train_seconds"]) <= float(r["wall_seconds"]) for r in rows)


def test_history_records_the_clipped_norm_before_clipping(tiny_run):
    checkpoint = load_checkpoint(tiny_run / "model.pt")
    assert any(row["grad_norm"] > checkpoint.config.clip for row in checkpoint.history)


def test_snapshots_follow_fixed_sentences_across_evaluations(tiny_run):
    snapshots = load_checkpoint(tiny_run / "model.pt").snapshots
    assert len(snapshots) >= 2
    first, last = snapshots[0]["examples"], snapshots[-1]["examples"]
    assert [e["tokens"] for e in first] == [e["tokens"] for e in last]
    example = last[-1]
    assert len(example["attention"][0]) == len(example["tokens"]) + 1


def test_snapshot_sentences_spread_over_lengths():
    valid = [["w"] * n for n in range(1, 11)]
    assert [len(s) for s in snapshot_sentences(valid)] == [4, 6, 9]


def test_max_seconds_and_target_accuracy_stop_the_run(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=50, max_seconds=0.5)
    result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path / "a", log=lambda s: None).run()
    assert result.stop_reason == "max_seconds"
    config = tiny_config(train_file=tiny_corpus.name, epochs=50, target_accuracy=0.05, evals_per_epoch=2)
    result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path / "b", log=lambda s: None).run()
    assert result.stop_reason == "target_accuracy"
    assert result.history[-1]["valid_exact_match"] >= 0.05


def test_evals_per_epoch_adds_rows_within_an_epoch(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=1, evals_per_epoch=3)
    result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path, log=lambda s: None).run()
    assert [row["epoch"] for row in result.history] == [1, 1, 1]


def record_teacher_forcing(monkeypatch) -> list[tuple[bool, float]]:
    """Every loss the trainer computes from now on, as (model in training mode, teacher forcing), in order."""
    forcing: list[tuple[bool, float]] = []
    real = masked_loss

    def recording(model, batch, teacher_forcing):
        forcing.append((model.training, teacher_forcing))
        return real(model, batch, teacher_forcing)

    monkeypatch.setattr("seq2seq.train.masked_loss", recording)
    return forcing


def test_teacher_forcing_below_one_trains(tmp_path, tiny_corpus, monkeypatch):
    forcing = record_teacher_forcing(monkeypatch)
    config = tiny_config(train_file=tiny_corpus.name, epochs=1, teacher_forcing=0.5)
    result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path, log=lambda s: None).run()
    assert result.history and result.stop_reason == "epochs"
    assert {tf for training, tf in forcing if training} == {0.5}  # every training batch, with the configured rate


def test_seeded_runs_are_identical(tmp_path, tiny_corpus):
    config = tiny_config(train_file=tiny_corpus.name, epochs=1)
    losses = []
    for name in ("a", "b"):
        result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path / name, log=lambda s: None).run()
        losses.append([row["valid_loss"] for row in result.history])
    assert losses[0] == losses[1]


def test_a_diverging_run_stops_at_the_first_non_finite_loss(tmp_path, tiny_corpus, monkeypatch):
    config = tiny_config(train_file=tiny_corpus.name, epochs=3)
    data = load_run_data(config, tiny_corpus)
    calls = {"n": 0}
    real = masked_loss

    def poisoned(model, batch, teacher_forcing):
        loss, n = real(model, batch, teacher_forcing)
        calls["n"] += model.training
        return (loss * float("nan") if model.training and calls["n"] > 40 else loss), n

    monkeypatch.setattr("seq2seq.train.masked_loss", poisoned)
    lines = []
    result = Trainer(config, data, tmp_path, log=lines.append).run()
    assert result.stop_reason == "diverged"
    assert any("became nan" in line for line in lines)
    assert load_checkpoint(tmp_path / "model.pt").history  # the best model before it is intact


def test_validations_score_only_the_valid_subset_when_one_is_set(tmp_path, tiny_corpus, monkeypatch):
    """With valid_subset=7 every validation decodes the first 7 validation sentences (and the watched ones), never the
    whole split; the test split is still scored whole at the end."""
    from seq2seq.decoding import Reverser

    decoded: list[list[list[str]]] = []
    reverse_tokens = Reverser.reverse_tokens

    def counting(self, sentences, *args, **kwargs):
        decoded.append(list(sentences))
        return reverse_tokens(self, sentences, *args, **kwargs)

    monkeypatch.setattr(Reverser, "reverse_tokens", counting)
    config = tiny_config(
        train_file=tiny_corpus.name, epochs=1, evals_per_epoch=4, valid_size=60, test_size=50, valid_subset=7
    )
    data = load_run_data(config, tiny_corpus)
    result = Trainer(config, data, tmp_path, log=lambda line: None).run()
    assert len(result.history) >= 3 and decoded.count(data.splits.valid[:7]) == len(result.history)
    sizes = [len(sentences) for sentences in decoded]
    assert sizes.count(7) == len(result.history) and 60 not in sizes and sizes[-1] == 50


# ------------------------------------------------------------------------------------------------ what each step does
class RecordingAdam(Adam):
    """The trainer's Adam, recording per step the learning rate it was given, the gradient norm as backward left it
    (hooks run before any clipping) and the gradient norm it updates with."""

    steps: list[dict]

    def __init__(self, params, **kwargs) -> None:
        params = list(params)
        super().__init__(params, **kwargs)
        RecordingAdam.steps = []
        self._squares = 0.0
        for p in params:
            p.register_post_accumulate_grad_hook(self._add)

    def _add(self, p: torch.Tensor) -> None:
        self._squares += float(p.grad.double().pow(2).sum())

    def step(self, closure=None):
        used = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in self.param_groups[0]["params"]))
        RecordingAdam.steps.append(
            {
                "lr": self.param_groups[0]["lr"],
                "weight_decay": self.param_groups[0]["weight_decay"],
                "backward_norm": math.sqrt(self._squares),
                "used_norm": used,
            }
        )
        self._squares = 0.0
        return super().step(closure)


def recorded_run(tmp_path, tiny_corpus, monkeypatch, **changes) -> tuple[list[dict], list]:
    """Train the tiny model with ``changes``; return what RecordingAdam saw per step and every batch Progress."""
    monkeypatch.setattr("seq2seq.train.Adam", RecordingAdam)
    config = tiny_config(train_file=tiny_corpus.name, **changes)
    seen = []
    Trainer(config, load_run_data(config, tiny_corpus), tmp_path, seen.append, report_every=1, log=lambda s: None).run()
    return RecordingAdam.steps, [p for p in seen if p.kind == "batch"]


def test_the_update_uses_the_clipped_gradient_and_the_stored_norm_is_the_one_before_clipping(
    tmp_path, tiny_corpus, monkeypatch
):
    clip = 0.5
    steps, batches = recorded_run(tmp_path, tiny_corpus, monkeypatch, epochs=2, clip=clip)
    assert len(steps) == len(batches) > 20
    assert sum(s["backward_norm"] > clip for s in steps) >= 5 and sum(s["backward_norm"] < clip for s in steps) >= 5
    for s, progress in zip(steps, batches, strict=True):
        assert math.isclose(progress.grad_norm, s["backward_norm"], rel_tol=1e-4)  # reported: before clipping
        assert math.isclose(s["used_norm"], min(s["backward_norm"], clip), rel_tol=1e-4)  # applied: clipped


def test_without_clipping_the_update_uses_the_whole_gradient(tmp_path, tiny_corpus, monkeypatch):
    steps, _ = recorded_run(tmp_path, tiny_corpus, monkeypatch, epochs=1, clip=None, lr=0.05)
    assert max(s["backward_norm"] for s in steps) > 1.0  # above the default clip, so clipping would show
    assert all(math.isclose(s["used_norm"], s["backward_norm"], rel_tol=1e-4) for s in steps)


@pytest.mark.parametrize("schedule", ["linear", "constant"])
def test_the_learning_rate_follows_the_schedule(tmp_path, tiny_corpus, monkeypatch, schedule):
    steps, _ = recorded_run(tmp_path, tiny_corpus, monkeypatch, epochs=2, lr=0.01, lr_schedule=schedule)
    total = len(steps)
    expected = [0.01 * (1 - i / total) if schedule == "linear" else 0.01 for i in range(total)]
    assert [s["lr"] for s in steps] == pytest.approx(expected, rel=1e-9)
    assert {s["weight_decay"] for s in steps} == {0.0}
    rows = load_checkpoint(tmp_path / "model.pt").history
    assert [row["lr"] for row in rows] == pytest.approx([expected[row["step"] - 1] for row in rows], rel=1e-9)


def test_the_loss_of_a_padded_batch_is_the_token_weighted_loss_of_its_rows_alone():
    vocab = Vocabulary.build([["a", "b", "c", "d"]])
    torch.manual_seed(0)
    model = Seq2Seq(len(vocab), Config(embedding_size=8, hidden_size=8, attention_size=8))
    rows = [["a"], ["a", "b", "c", "d"], ["d", "c"]]
    together, count = masked_loss(model, make_batch(rows, vocab), 1.0)
    alone = [masked_loss(model, make_batch([row], vocab), 1.0) for row in rows]
    assert count == sum(n for _, n in alone) == 2 + 5 + 3
    torch.testing.assert_close(together, sum(loss * n for loss, n in alone) / count)


def test_a_run_whose_validation_loss_rises_keeps_the_earlier_best(tmp_path, tiny_corpus, monkeypatch):
    """The validation losses are set to fall, rise, then fall less than they rose: the checkpoint must hold the
    weights of the second evaluation, not the last."""
    from seq2seq.train import validate as real

    scripted = iter([3.0, 1.0, 2.0, 1.5])
    states = []

    def validate(model, validation, epoch, step):
        _, exact_match, snapshot = real(model, validation, epoch, step)
        states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return next(scripted), exact_match, snapshot

    monkeypatch.setattr("seq2seq.train.validate", validate)
    config = tiny_config(train_file=tiny_corpus.name, epochs=1, evals_per_epoch=4)
    result = Trainer(config, load_run_data(config, tiny_corpus), tmp_path, log=lambda s: None).run()
    assert [row["valid_loss"] for row in result.history] == [3.0, 1.0, 2.0, 1.5] and result.best_valid_loss == 1.0
    saved = load_checkpoint(tmp_path / "model.pt").state_dict
    assert all(torch.equal(saved[k], v) for k, v in states[1].items())
    assert not all(torch.equal(saved[k], v) for k, v in states[-1].items())


def test_the_validation_loss_is_measured_on_the_models_own_predictions(tmp_path, tiny_corpus, monkeypatch):
    """valid_loss is the per-token cross-entropy on the validation split with teacher forcing 0, as the trainer's
    docstring says; training itself uses the configured teacher forcing."""
    forcing = record_teacher_forcing(monkeypatch)
    config = tiny_config(train_file=tiny_corpus.name, epochs=4, evals_per_epoch=1)
    data = load_run_data(config, tiny_corpus)
    result = Trainer(config, data, tmp_path, log=lambda s: None).run()
    assert {tf for training, tf in forcing if training} == {1.0}
    assert {tf for training, tf in forcing if not training} == {0.0}
    model = load_checkpoint(tmp_path / "model.pt").build_model()  # the best of the evaluations

    def loss_with(teacher_forcing: float) -> float:
        with torch.no_grad():
            batches = bucketed_batches(data.splits.valid, data.vocab, 10)
            parts = [masked_loss(model, batch, teacher_forcing) for batch in batches]
        return sum(float(loss) * n for loss, n in parts) / sum(n for _, n in parts)

    assert result.best_valid_loss == pytest.approx(loss_with(0.0), abs=2e-6)
    assert abs(loss_with(1.0) - loss_with(0.0)) > 0.01  # the two ways differ here, so the check above can tell


def test_the_configured_weight_decay_reaches_the_optimizer(tmp_path, tiny_corpus, monkeypatch):
    steps, _ = recorded_run(tmp_path, tiny_corpus, monkeypatch, epochs=1, weight_decay=0.01)
    assert steps and {s["weight_decay"] for s in steps} == {0.01}
