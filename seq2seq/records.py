"""The records that cross modules: a training run's history rows, live points, attention snapshots and stop reasons.

They are ``TypedDict``s, plain dicts at run time, so checkpoints that store them still load with
``torch.load(weights_only=True)``, and ``history.csv`` has their keys as its columns.
"""

from typing import Literal, TypedDict

StopReason = Literal["epochs", "target_accuracy", "max_seconds", "stopped", "server_stopped", "diverged"]
"""Why a run ended; "stopped" is a user's request, "server_stopped" the app's server shutting down mid-run (the
trainer itself only knows "stopped"; the app's worker tells the two apart)."""
ProgressKind = Literal["batch", "eval", "end"]


class HistoryRow(TypedDict):
    """One validation: a row of ``history.csv`` and of a checkpoint's history."""

    epoch: int
    step: int
    train_loss: float  # mean per real target token since the previous validation
    valid_loss: float  # on the model's own predictions, without teacher forcing
    valid_exact_match: float
    grad_norm: float  # of the last batch, before clipping
    lr: float
    train_seconds: float  # optimisation time so far, validation excluded
    wall_seconds: float


HISTORY_COLUMNS: list[str] = list(HistoryRow.__annotations__)


class BatchPoint(TypedDict):
    """One reported training batch, for the live curves."""

    step: int
    train_loss: float
    grad_norm: float


class SnapshotExample(TypedDict):
    """A watched validation sentence as the model reversed it at one moment of training."""

    tokens: list[str]
    output: list[str]
    attention: list[list[float]]  # (len(output) + 1) x (len(tokens) + 1)


class Snapshot(TypedDict):
    """One moment of a run's replay, taken at one validation: the watched validation sentences as the model reversed
    them then (decodes and attention), the exact match per source length and the mirror-peak share of the sentences
    scored (``seq2seq.replay`` reads them; a checkpoint keeps a bounded, evenly thinned list of them)."""

    epoch: int
    step: int
    examples: list[SnapshotExample]
    exact_by_length: dict[str, float]  # {"5": 0.75}: valid exact match per source length; {} where not recorded
    mirror_peak_share: float | None  # share of decoder steps whose peak is on the mirror word; None: no attention
