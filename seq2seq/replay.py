"""A run's replay: what the model did at each validation, kept so that the moment attention formed can be found again.

Training takes one moment (``records.Snapshot``) at every validation: the watched validation sentences as the model
reversed them then (decodes and attention), the valid exact match per source length, and the mirror-peak share (the
share of decoder steps whose highest weight is on the mirror word) over the sentences scored. A run keeps at most
``MAX_REPLAY_MOMENTS`` of them and ``MAX_REPLAY_CELLS`` attention weights in all, thinned evenly over its validations,
the first and the latest always kept (``Thinning``); a checkpoint's replay is checked on load like the rest of it
(``seq2seq.checkpoint_checks``). The markers on a curve come from the stored figures: alignment emerges at the first
moment whose mirror-peak share reaches the analysis's ``GOOD`` (95%), and "99%" is the first validation whose exact
match reaches ``EXACT_MARK``. The HTML animation and the GIF of a replay are written by ``seq2seq.replay_export``.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from .checkpoint_checks import MAX_REPLAY_CELLS, MAX_REPLAY_MOMENTS
from .decoding import Reversal
from .metrics import GOOD, alignment_metrics, by_length, percent
from .records import HistoryRow, Snapshot, SnapshotExample

EXACT_MARK = 0.99
"""The valid exact match the "99%" marker stands for."""


def exact_by_length(results: Sequence[Reversal]) -> dict[str, float]:
    """Exact match per source length, keyed by the length as text (as ``metrics.per_length_accuracy`` keys it)."""
    return {str(n): sum(r.match for r in group) / len(group) for n, group in by_length(results).items()}


def mirror_peak_share(pairs: Sequence[tuple[Sequence[str], Sequence[Sequence[float]]]]) -> float | None:
    """The share of decoder steps whose highest weight is on the mirror position (``alignment_metrics``'s
    ``mirror_peak_rate``) over (tokens, attention) pairs; None when there is no step."""
    return alignment_metrics(pairs)["mirror_peak_rate"]


def moment(epoch: int, step: int, scored: Sequence[Reversal], watched: Sequence[Reversal], aligns: bool) -> Snapshot:
    """One moment of the replay, from one validation's decodes: ``scored`` every validation sentence decoded,
    ``watched`` the fixed few; ``aligns``: whether the model's weights are an alignment (a fixed context has no
    mirror-peak share)."""
    return Snapshot(
        epoch=epoch,
        step=step,
        examples=[SnapshotExample(tokens=r.tokens, output=r.output, attention=r.attention) for r in watched],
        exact_by_length=exact_by_length(scored),
        mirror_peak_share=mirror_peak_share([(r.tokens, r.attention) for r in scored]) if aligns else None,
    )


def upgraded(snapshot: dict, aligns: bool) -> Snapshot:
    """A snapshot as a checkpoint written before the replay holds it (epoch, step and the watched sentences only),
    as a moment: its mirror-peak share computed from its watched sentences, its exact match per length not recorded
    (``{}``). A moment is returned as it is."""
    if "exact_by_length" in snapshot:
        return snapshot  # type: ignore[return-value]
    examples = snapshot["examples"]
    share = mirror_peak_share([(e["tokens"], e["attention"]) for e in examples]) if aligns else None
    return Snapshot(**snapshot, exact_by_length={}, mirror_peak_share=share)


def loaded_replay(snapshots: Sequence[dict], aligns: bool) -> list[Snapshot]:
    """A checked checkpoint's snapshots as its replay: each ``upgraded``, and thinned within the caps as training
    thins them (only a file written before the replay can hold more)."""
    thinning = Thinning()
    for snapshot in snapshots:
        thinning.add(upgraded(snapshot, aligns))
    return thinning.moments


def attention_cells(snapshot: Snapshot) -> int:
    """How many attention weights a moment holds (what its size in a checkpoint grows with)."""
    return sum(len(row) for example in snapshot["examples"] for row in example["attention"])


class Thinning:
    """The moments a run keeps: every ``stride``-th validation from the first, and the latest. When more than
    ``most`` moments or ``most_cells`` attention weights would be kept, every other kept one is dropped and the stride
    doubles, so the moments stay evenly spread over the whole run, however long it is."""

    def __init__(self, most: int | None = None, most_cells: int | None = None) -> None:
        self.most = MAX_REPLAY_MOMENTS if most is None else most
        self.most_cells = MAX_REPLAY_CELLS if most_cells is None else most_cells
        self.stride = 1
        self.validations = 0
        self._kept: list[Snapshot] = []  # validations 0, stride, 2 * stride, ...
        self._latest: Snapshot | None = None

    @property
    def moments(self) -> list[Snapshot]:
        if self._latest is None or (self._kept and self._kept[-1] is self._latest):
            return list(self._kept)
        return [*self._kept, self._latest]

    def add(self, snapshot: Snapshot) -> None:
        if self.validations % self.stride == 0:
            self._kept.append(snapshot)
        self._latest = snapshot
        self.validations += 1
        while len(self._kept) > 1 and self._over():
            self._kept = self._kept[::2]
            self.stride *= 2

    def _over(self) -> bool:
        moments = self.moments
        return len(moments) > self.most or sum(map(attention_cells, moments)) > self.most_cells


# ------------------------------------------------------------------------------------------------- markers
@dataclass(frozen=True)
class Marker:
    """A point of a run's curve worth a mark: where alignment emerged, where 99% was reached."""

    kind: str  # "emergence" or "exact" (the figures style each kind alike: ``plots.MARK_STYLES``)
    label: str
    step: int
    epoch: int
    value: float  # the share or exact match that put it there


def emergence(snapshots: Sequence[Snapshot]) -> Marker | None:
    """The first moment whose mirror-peak share reaches ``GOOD``; None when none does (or the model has no
    attention)."""
    for s in snapshots:
        share = s.get("mirror_peak_share")
        if share is not None and share >= GOOD:
            return Marker("emergence", "alignment emerges", s["step"], s["epoch"], share)
    return None


def exact_mark(history: Sequence[HistoryRow], level: float = EXACT_MARK) -> Marker | None:
    """The first validation whose exact match reaches ``level``; None when none does."""
    for row in history:
        if row["valid_exact_match"] >= level:
            return Marker("exact", f"{level:.0%} exact match", row["step"], row["epoch"], row["valid_exact_match"])
    return None


def markers(history: Sequence[HistoryRow], snapshots: Sequence[Snapshot]) -> list[Marker]:
    return [m for m in (emergence(snapshots), exact_mark(history)) if m is not None]


def emergence_text(history: Sequence[HistoryRow], snapshots: Sequence[Snapshot]) -> str:
    """What the markers say, in sentences decided by the stored figures: a run whose attention never formed says so."""
    shares = [(s["mirror_peak_share"], s) for s in snapshots if s.get("mirror_peak_share") is not None]
    if not snapshots:
        text = "This run kept no replay, so where its attention formed is not known."
    elif not shares:
        text = (
            "This model has no attention, so no alignment can emerge: its weights pick one fixed context at every step."
        )
    elif (found := emergence(snapshots)) is not None:
        text = (
            f"Alignment emerged at step {found.step:,} (epoch {found.epoch}): the first validation where the highest "
            f"weight sat on the mirror word in at least {percent(GOOD)} of steps ({percent(found.value)})."
        )
    else:
        best, where = max(shares, key=lambda pair: pair[0])
        text = (
            f"Alignment never emerged in this run: the highest weight sat on the mirror word in at most "
            f"{percent(best)} of steps (at step {where['step']:,}), below the {percent(GOOD)} the analysis calls an "
            "anti-diagonal."
        )
    mark = exact_mark(history)
    if mark is not None:
        return f"{text} Valid exact match reached {percent(EXACT_MARK)} at step {mark.step:,} (epoch {mark.epoch})."
    if history:
        top = max(history, key=lambda row: row["valid_exact_match"])
        return (
            f"{text} Valid exact match never reached {percent(EXACT_MARK)}: its best was "
            f"{percent(top['valid_exact_match'])}, at step {top['step']:,}."
        )
    return text


def moment_index(snapshots: Sequence[Snapshot], step: int) -> int:
    """The index of the moment nearest to ``step`` (the earlier one on a tie); 0 for an empty replay."""
    if not snapshots:
        return 0
    return min(range(len(snapshots)), key=lambda i: (abs(snapshots[i]["step"] - step), i))
