"""Figure 2 of Bahdanau et al. (2014), on reversal: score against source length, one line per model and cap.

``benchmarks/paper_figure.py`` trains each model twice (on sentences up to a short and a long cap, the paper's -30
and -50) with several seeds and writes ``artifacts/paper_figure.json``; this module reads it, checks it, and sums it
up per model, cap and length (mean and spread over the seeds) for the figure (``seq2seq.plots.paper_figure``) and
docs/paper.md and the Analysis page.
"""

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

from .attention import kind_name
from .config import Config
from .failures import FAILURES
from .paths import default_checkpoint_path

# The figure's models, in the order they are drawn, and the settings each changes from the config: the paper's
# baseline and model, the default's attention, and that attention with the stop read from it and no query (the
# shipped artifacts/stop).
FIGURE_CONFIGS: dict[str, dict[str, str]] = {
    "encdec": {"attention": "encdec"},
    "additive": {"attention": "additive"},
    "location": {"attention": "location"},
    "stop": {"attention": "location", "attention_query": "none", "stop": "attention"},
}
FIGURE_KINDS = tuple(FIGURE_CONFIGS)


def figure_name(kind: str) -> str:
    """A figure model's name in words (``attention.kind_name`` of its settings)."""
    return kind_name(Config(**FIGURE_CONFIGS[kind])) if kind in FIGURE_CONFIGS else kind


class PaperRun(TypedDict):
    """One trained model, scored at every source length (keys are lengths as strings, as JSON keeps them)."""

    attention: str  # the figure's model (FIGURE_KINDS): an attention kind, or "stop"
    max_train_length: int
    seed: int
    updates: int
    exact_match_per_length: dict[str, float]
    token_accuracy_per_length: dict[str, float]
    failures_per_length: NotRequired[dict[str, dict]]  # {"12": {"total": 50, "failures": {label: count}}}


class PaperFigure(TypedDict):
    runs: list[PaperRun]
    command: str  # the command that wrote it
    updates: int  # training updates per model
    settings: NotRequired[dict]  # caps, seeds, sentences per length and the base config, for resuming


@dataclass
class Series:
    """One line of the figure: a model at one cap, mean and range over its seeds per length."""

    attention: str  # the figure's model (FIGURE_KINDS): an attention kind, or "stop"
    max_train_length: int
    seeds: int
    lengths: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]

    @property
    def label(self) -> str:
        return f"{figure_name(self.attention)}, trained on ≤{self.max_train_length} words"

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
        if "failures_per_length" in run and not _failure_table(run["failures_per_length"]):
            raise ValueError(f"run {index + 1}'s failures_per_length is not a table of failure counts by length")
    return data  # type: ignore[return-value]


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _failure_table(value: object) -> bool:
    """{"12": {"total": 50, "failures": {label: count, ...}}, ...}: every label known, no count above the total."""
    return isinstance(value, dict) and all(
        isinstance(n, str) and n.isdigit() and isinstance(row, dict) and _count(row.get("total"))
        and isinstance(row.get("failures"), dict) and set(row["failures"]) <= set(FAILURES)
        and all(_count(c) for c in row["failures"].values()) and sum(row["failures"].values()) <= row["total"]
        for n, row in value.items()
    )  # fmt: skip


def failures_per_length(data: PaperFigure, attention: str, cap: int) -> dict[str, dict] | None:
    """The wrong decodes of one model and cap per length and failure label, summed over its seeds, as rows
    ``plots.failures_figure`` draws; None when its runs were scored without failure labels."""
    runs = [r for r in data["runs"] if (r["attention"], r["max_train_length"]) == (attention, cap)]
    if not runs or any("failures_per_length" not in r for r in runs):
        return None
    rows: dict[str, dict] = {}
    for run in runs:
        for n, row in run["failures_per_length"].items():
            into = rows.setdefault(n, {"total": 0, "failures": dict.fromkeys(FAILURES, 0)})
            into["total"] += row["total"]
            for label, count in row["failures"].items():
                into["failures"][label] += count
    return dict(sorted(rows.items(), key=lambda item: int(item[0])))


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
    """One series per (model, cap), in the order of FIGURE_KINDS and short cap first."""
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


NO_DROP = 0.05
"""The most mean exact match a model may lose on longer sentences and still be said to hold up (keep its place)."""


@dataclass
class Finding:
    """One of the paper's findings about its Figure 2, and what these numbers say about it."""

    claim: str
    measured: str
    holds: bool


def findings(data: PaperFigure) -> list[Finding]:
    """The paper's findings restated for reversal and checked against ``data`` (mean exact match over seeds)."""
    lines = {(line.attention, line.max_train_length): line for line in series(data)}
    caps = sorted({cap for _, cap in lines})
    if len(caps) < 2 or not all((kind, cap) in lines for kind in ("encdec", "additive") for cap in caps):
        return []
    short, long = caps[0], caps[-1]
    encdec, search = lines["encdec", long], lines["additive", long]
    search_short, encdec_short = lines["additive", short], lines["encdec", short]

    def at(line: Series, first: int, last: int) -> float:
        return line.mean_over(first, last) or 0.0

    out = []
    a, e = at(search, 1, long), at(encdec, 1, long)
    a_short, e_short = at(search_short, 1, short), at(encdec_short, 1, short)
    out.append(Finding(
        "Attention (RNNsearch) beats the encoder–decoder (RNNencdec) trained alike.",
        f"mean exact match over 1–{long} words: additive {a:.3f} vs encoder–decoder {e:.3f} (trained on ≤{long}); "
        f"over 1–{short}: {a_short:.3f} vs {e_short:.3f} (trained on ≤{short})",
        a > e and a_short > e_short,
    ))  # fmt: skip
    # The better trained of the two encoder-decoders (the higher score on 1-3 words) is the one a drop can show in.
    best = max((encdec_short, encdec), key=lambda line: at(line, 1, 3))
    few = at(best, 1, 3)
    out.append(Finding(
        "The encoder–decoder's performance drops sharply as sentences get longer.",
        "; ".join(f"encoder–decoder trained on ≤{line.max_train_length}: {at(line, 1, 3):.3f} on 1–3 words, "
                  f"{at(line, short, short):.3f} at {short}, {at(line, long, long):.3f} at {long}"
                  for line in (encdec_short, encdec)),
        few >= 0.2 and at(best, short, short) <= few / 2,
    ))  # fmt: skip
    low, high = at(search, 1, long // 2), at(search, long // 2 + 1, long)
    out.append(Finding(
        f"RNNsearch-50 shows no deterioration with length: here the additive model trained on ≤{long} holds up to "
        f"{long} words.",
        f"additive trained on ≤{long}: {low:.3f} on 1–{long // 2} words, {high:.3f} on {long // 2 + 1}–{long}, "
        f"{at(search, long, long):.3f} at {long}",
        high >= low - NO_DROP,
    ))  # fmt: skip
    s30, e50 = at(search_short, 1, long), at(encdec, 1, long)
    out.append(Finding(
        "RNNsearch-30 even beats RNNencdec-50: attention trained on short sentences beats the encoder–decoder "
        "trained on long ones.",
        f"over 1–{long} words: additive trained on ≤{short} {s30:.3f} vs encoder–decoder trained on ≤{long} {e50:.3f}",
        s30 > e50,
    ))  # fmt: skip
    past = (long + 1, 2 * long)
    for kind in ("additive", "location", "stop"):
        if (kind, long) not in lines:
            continue
        line, name = lines[kind, long], figure_name(kind)
        within, beyond = at(line, 1, long), at(line, *past)
        out.append(Finding(
            "(Not in the paper, which tested no sentence longer than its models were trained on.) Past the trained "
            f"length, the {name} keeps its place.",
            f"{name} trained on ≤{long}: {within:.3f} on 1–{long} words, {beyond:.3f} on {past[0]}–{past[1]} "
            f"(encoder–decoder {at(encdec, *past):.3f})",
            beyond >= within - NO_DROP and beyond > at(encdec, *past),
        ))  # fmt: skip
    return out
