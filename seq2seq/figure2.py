"""Figure 2 of Bahdanau et al. (2014), on reversal: score against source length, one line per model and cap.

``benchmarks/paper_figure.py`` trains each model twice (on sentences up to a short and a long cap, the paper's -30
and -50) with several seeds and writes ``artifacts/paper_figure.json``; this module reads it, checks it, and sums it
up per model, cap and length (mean and spread over the seeds) for the figure (``seq2seq.plots.paper_figure``) and
the README and Analysis page.
"""

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

from .attention import KIND_NAMES
from .paths import default_checkpoint_path

FIGURE_KINDS = ("encdec", "additive", "location")  # the figure's models, in the order they are drawn


class PaperRun(TypedDict):
    """One trained model, scored at every source length (keys are lengths as strings, as JSON keeps them)."""

    attention: str
    max_train_length: int
    seed: int
    updates: int
    exact_match_per_length: dict[str, float]
    token_accuracy_per_length: dict[str, float]


class PaperFigure(TypedDict):
    runs: list[PaperRun]
    command: str  # the command that wrote it
    updates: int  # training updates per model
    settings: NotRequired[dict]  # caps, seeds, sentences per length and the base config, for resuming


@dataclass
class Series:
    """One line of the figure: a model at one cap, mean and range over its seeds per length."""

    attention: str
    max_train_length: int
    seeds: int
    lengths: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]

    @property
    def label(self) -> str:
        return f"{KIND_NAMES.get(self.attention, self.attention)}, trained on ≤{self.max_train_length} words"

    def mean_over(self, first: int, last: int) -> float | None:
        values = [m for n, m in zip(self.lengths, self.mean, strict=True) if first <= n <= last]
        return statistics.mean(values) if values else None


def paper_figure_path() -> Path:
    """``paper_figure.json`` beside the default model (``artifacts/paper_figure.json``)."""
    return default_checkpoint_path().parent / "paper_figure.json"


def _score_table(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and k.isdigit() and isinstance(v, int | float) and math.isfinite(v) and 0 <= v <= 1
        for k, v in value.items()
    )


def check_paper_figure(data: object) -> PaperFigure:
    """The figure's data, or ValueError saying what is wrong with it."""
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ValueError("it has no list of runs")
    for index, run in enumerate(data["runs"]):
        if not isinstance(run, dict) or run.get("attention") not in FIGURE_KINDS:
            raise ValueError(f"run {index + 1} names no known attention kind")
        if not isinstance(run.get("max_train_length"), int) or not isinstance(run.get("seed"), int):
            raise ValueError(f"run {index + 1} has no whole-number max_train_length and seed")
        for key in ("exact_match_per_length", "token_accuracy_per_length"):
            if not _score_table(run.get(key)):
                raise ValueError(f"run {index + 1}'s {key} is not a table of scores from 0 to 1 by length")
    return data  # type: ignore[return-value]


def load_paper_figure(path: str | Path | None = None) -> tuple[PaperFigure | None, str | None]:
    """(the data, None), (None, None) when there is no file, or (None, why it cannot be used)."""
    path = Path(path) if path is not None else paper_figure_path()
    if not path.is_file():
        return None, None
    try:
        return check_paper_figure(json.loads(path.read_text(encoding="utf-8"))), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        return None, f"{path.name} cannot be used: {error}"


def series(data: PaperFigure, metric: str = "exact_match_per_length") -> list[Series]:
    """One series per (attention, cap), in the order encdec, additive, location and short cap first."""
    groups: dict[tuple[str, int], list[PaperRun]] = {}
    for run in data["runs"]:
        groups.setdefault((run["attention"], run["max_train_length"]), []).append(run)
    out = []
    for (kind, cap), runs in sorted(groups.items(), key=lambda item: (FIGURE_KINDS.index(item[0][0]), item[0][1])):
        lengths = sorted({int(n) for run in runs for n in run[metric]})
        per = [[run[metric][str(n)] for run in runs if str(n) in run[metric]] for n in lengths]
        out.append(
            Series(kind, cap, len(runs), lengths, [statistics.mean(v) for v in per], [min(v) for v in per],
                   [max(v) for v in per])
        )  # fmt: skip
    return out
