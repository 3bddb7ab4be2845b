"""The replay: a moment taken at every validation and kept within the cap, evenly thinned; the markers and the words
about them computed from the stored figures; checkpoints written before the replay upgraded on load."""

import torch

from seq2seq.checkpoint import checkpoint_from_payload, load_checkpoint
from seq2seq.checkpoint_checks import MAX_REPLAY_MOMENTS
from seq2seq.config import Config
from seq2seq.data import load_run_data
from seq2seq.decoding import Reversal
from seq2seq.metrics import GOOD, alignment_metrics
from seq2seq.model import Seq2Seq
from seq2seq.replay import (
    Thinning,
    emergence,
    emergence_text,
    exact_by_length,
    exact_mark,
    markers,
    moment_index,
)
from seq2seq.run_folder import Trainer
from tests.conftest import tiny_config


def _moment(step: int, share: float | None, cells: int = 4) -> dict:
    attention = [[0.5, 0.5]] * (cells // 2)
    example = {"tokens": ["a"], "output": ["a"] * (len(attention) - 1), "attention": attention}
    return {"epoch": 1, "step": step, "examples": [example], "exact_by_length": {}, "mirror_peak_share": share}


def _row(step: int, exact: float) -> dict:
    return {"epoch": 1, "step": step, "train_loss": 1.0, "valid_loss": 1.0, "valid_exact_match": exact}


def test_a_moment_is_taken_at_each_validation_and_thinned_within_the_cap(tmp_path, tiny_corpus, monkeypatch):
    monkeypatch.setattr("seq2seq.replay.MAX_REPLAY_MOMENTS", 5)
    config = tiny_config(train_file=tiny_corpus.name, epochs=1, evals_per_epoch=12)
    trainer = Trainer(config, load_run_data(config, tiny_corpus), tmp_path, log=lambda s: None)
    result = trainer.run()
    steps = [row["step"] for row in result.history]
    assert len(steps) == 12 and trainer.replay.validations == 12  # one moment taken per validation
    kept = load_checkpoint(tmp_path / "model.pt").snapshots
    kept_steps = [s["step"] for s in kept]
    assert len(kept) <= 5
    assert kept_steps[0] == steps[0] and kept_steps[-1] == steps[-1]  # the first and the latest stay
    indices = [steps.index(step) for step in kept_steps[:-1]]
    assert len({b - a for a, b in zip(indices, indices[1:], strict=False)}) == 1  # evenly spread
    for s in kept:
        assert s["exact_by_length"] and all(0 <= v <= 1 for v in s["exact_by_length"].values())
        assert 0 <= s["mirror_peak_share"] <= 1


def test_thinning_keeps_every_stride_th_validation_and_the_latest():
    thinning = Thinning(most=5)
    for step in range(1, 14):
        thinning.add(_moment(step, 0.5))
        assert len(thinning.moments) <= 5
    assert [s["step"] for s in thinning.moments] == [1, 5, 9, 13]
    thinning.add(_moment(14, 0.5))
    assert [s["step"] for s in thinning.moments] == [1, 5, 9, 13, 14]


def test_thinning_holds_the_attention_weights_within_their_cap():
    thinning = Thinning(most=100, most_cells=40)
    for step in range(1, 30):
        thinning.add(_moment(step, 0.5, cells=8))
        assert sum(8 for _ in thinning.moments) <= 40
    assert thinning.moments[0]["step"] == 1 and thinning.moments[-1]["step"] == 29


def test_the_emergence_marker_is_the_first_stored_share_past_the_analysis_threshold():
    snapshots = [_moment(10, 0.2), _moment(20, GOOD - 0.01), _moment(30, GOOD), _moment(40, 1.0)]
    history = [_row(10, 0.0), _row(20, 0.5), _row(30, 0.99), _row(40, 1.0)]
    found = emergence(snapshots)
    assert (found.step, found.value) == (30, GOOD)
    assert exact_mark(history).step == 30
    assert [(m.kind, m.step) for m in markers(history, snapshots)] == [("emergence", 30), ("exact", 30)]
    text = emergence_text(history, snapshots)
    assert "Alignment emerged at step 30" in text and "reached 99.0% at step 30" in text


def test_a_weak_run_has_no_emergence_and_says_so():
    snapshots = [_moment(10, 0.1), _moment(20, 0.6), _moment(30, 0.4)]
    history = [_row(10, 0.0), _row(20, 0.2), _row(30, 0.1)]
    assert emergence(snapshots) is None and exact_mark(history) is None and markers(history, snapshots) == []
    text = emergence_text(history, snapshots)
    assert "never emerged" in text and "at most 60.0% of steps (at step 20)" in text
    assert "never reached 99.0%: its best was 20.0%, at step 20" in text


def test_a_model_without_attention_says_no_alignment_can_emerge():
    text = emergence_text([_row(10, 0.1)], [_moment(10, None)])
    assert "no attention, so no alignment can emerge" in text
    assert "run kept no replay" in emergence_text([], [])


def test_exact_match_by_length_and_the_nearest_moment():
    results = [
        Reversal(["a"], [True], ["a"], ["a"], [False], [[1.0, 0.0]]),
        Reversal(["a", "b"], [True, True], ["b", "a"], ["b", "a"], [False, False], []),
        Reversal(["a", "b"], [True, True], ["a", "a"], ["b", "a"], [False, False], []),
    ]
    assert exact_by_length(results) == {"1": 1.0, "2": 0.5}
    snapshots = [_moment(10, 0.1), _moment(20, 0.1), _moment(40, 0.1)]
    assert [moment_index(snapshots, step) for step in (0, 14, 15, 16, 31, 999)] == [0, 0, 0, 1, 2, 2]


def test_a_checkpoint_written_before_the_replay_is_upgraded_on_load(tiny_checkpoint):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    old = [{k: s[k] for k in ("epoch", "step", "examples")} for s in payload["snapshots"]]
    loaded = checkpoint_from_payload({**payload, "snapshots": old})
    for before, after in zip(old, loaded.snapshots, strict=True):
        pairs = [(e["tokens"], e["attention"]) for e in before["examples"]]
        assert after["exact_by_length"] == {}
        assert after["mirror_peak_share"] == alignment_metrics(pairs)["mirror_peak_rate"]
    encdec = {**payload["config"], "attention": "encdec"}
    weights = _weights(payload, encdec)
    plain = checkpoint_from_payload({**payload, "config": encdec, "state_dict": weights, "snapshots": old})
    assert all(s["mirror_peak_share"] is None for s in plain.snapshots)  # no attention: no share to compute


def test_an_earlier_file_with_more_snapshots_than_the_cap_loads_thinned(tiny_checkpoint):
    """A run trained before the replay kept one snapshot per validation, however many: it still loads, its replay
    thinned evenly within the cap as training now thins it."""
    payload = torch.load(tiny_checkpoint, weights_only=True)
    old = {k: payload["snapshots"][0][k] for k in ("epoch", "step", "examples")}
    many = [{**old, "step": step} for step in range(1, 2 * MAX_REPLAY_MOMENTS + 2)]
    config = {**payload["config"], "epochs": 1_000}
    steps = [s["step"] for s in checkpoint_from_payload({**payload, "config": config, "snapshots": many}).snapshots]
    assert len(steps) <= MAX_REPLAY_MOMENTS and (steps[0], steps[-1]) == (1, len(many))
    assert len({b - a for a, b in zip(steps, steps[1:-1], strict=False)}) == 1  # evenly spread


def _weights(payload: dict, config: dict) -> dict:
    return Seq2Seq(len(payload["vocab"]), Config.from_dict(config)).state_dict()


def test_taking_moments_changes_no_weight_the_run_trains(tmp_path, tiny_corpus, monkeypatch):
    """The replay reads the validation's decodes and draws no random numbers: a run with the watched sentences only
    (as snapshots were before the replay) ends with the very same weights. Teacher forcing below 1 draws from torch's
    generator at every step, so a draw taken by the replay would change the run."""
    config = tiny_config(train_file=tiny_corpus.name, epochs=2, evals_per_epoch=3, teacher_forcing=0.5)
    data = load_run_data(config, tiny_corpus)
    Trainer(config, data, tmp_path / "with", log=lambda s: None).run()

    def bare(epoch, step, scored, watched, aligns):
        examples = [{"tokens": r.tokens, "output": r.output, "attention": r.attention} for r in watched]
        return {"epoch": epoch, "step": step, "examples": examples, "exact_by_length": {}, "mirror_peak_share": None}

    monkeypatch.setattr("seq2seq.train.moment", bare)
    Trainer(config, data, tmp_path / "without", log=lambda s: None).run()
    kept, bare_run = (load_checkpoint(tmp_path / name / "model.pt") for name in ("with", "without"))
    assert kept.snapshots[-1]["exact_by_length"] and not bare_run.snapshots[-1]["exact_by_length"]
    assert all(torch.equal(kept.state_dict[k], v) for k, v in bare_run.state_dict.items())
