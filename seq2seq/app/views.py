"""What the app's pages show, computed without Streamlit: figures, table rows, filters and metric labels.

Figures carry an explicit template (pages draw them with ``theme=None``) and escape every token, like
``plots.heatmap_figure``. Table rows hold plain strings, numbers and booleans; widgets show them as text.
"""

import html
import re
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..inference import Reversal
from ..metrics import alignment_metrics
from ..plots import TEMPLATE, heatmap_figure

MATCH_FILTERS = ("all", "match", "no match")

ALIGNMENT_LABELS = [
    ("mirror_peak_rate", "mirror-position accuracy (all steps)", "share of decoder steps whose peak is the mirror"),
    ("mirror_peak_first", "mirror-position accuracy, first output word", "peak on the last input word"),
    ("mirror_peak_last_word", "mirror-position accuracy, last output word", "peak on the first input word"),
    ("mirror_peak_eos", "mirror-position accuracy, <eos> step", "peak on the source's <eos>"),
    ("mirror_peak_repeated", "mirror-position accuracy, repeated words", "content alone cannot tell these apart"),
    ("mirror_mass", "attention mass on the mirror position", "mean weight, out of 1"),
    ("entropy_first", "entropy at the start (nats)", "first output word"),
    ("entropy_middle", "entropy in the middle (nats)", "middle output word"),
    ("entropy_last", "entropy at the end (nats)", "the final <eos> step"),
    ("entropy_uniform", "entropy of uniform attention (nats)", "for scale: weights spread evenly"),
]
PERCENT_METRICS = {"mirror_peak_rate", "mirror_peak_first", "mirror_peak_last_word", "mirror_peak_eos"}
PERCENT_METRICS |= {"mirror_peak_repeated"}


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>:$&])")


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def markdown_escape(text: str) -> str:
    """Text that Markdown (and Streamlit's extensions of it) shows as it is: every special character escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


# ------------------------------------------------------------------------------------------------- one sentence
def token_rows(result: Reversal) -> list[dict]:
    """The input tokens the model saw, each flagged known or unknown (unknown ones reached it as ``<unk>``)."""
    return [
        {"position": i, "token": tok, "in vocabulary": "yes" if known else "UNKNOWN: seen as <unk>"}
        for i, (tok, known) in enumerate(zip(result.tokens, result.known, strict=True), start=1)
    ]


def output_rows(result: Reversal) -> list[dict]:
    """The output tokens, each marked when it was copied from the input through attention (an emitted ``<unk>``)."""
    return [
        {"position": i, "token": tok, "copied": "copied from the input via attention" if copied else ""}
        for i, (tok, copied) in enumerate(zip(result.output, result.copied, strict=True), start=1)
    ]


def unknown_words(result: Reversal) -> list[str]:
    return [tok for tok, known in zip(result.tokens, result.known, strict=True) if not known]


def result_figure(result: Reversal, title: str = ""):
    return heatmap_figure(result.tokens, result.output, result.attention, title)


# ------------------------------------------------------------------------------------------------- test set
def example_rows(results: Sequence[Reversal]) -> list[dict]:
    """One row per test sentence: its number, input, output, reference, length and match flag."""
    return [
        {
            "#": i,
            "input": " ".join(r.tokens),
            "output": " ".join(r.output),
            "reference": " ".join(r.reference),
            "length": len(r.tokens),
            "match": r.match,
        }
        for i, r in enumerate(results, start=1)
    ]


def filter_rows(rows: Sequence[dict], match: str = "all", lengths: tuple[int, int] | None = None) -> list[dict]:
    """Rows whose match flag fits ``match`` ("all", "match" or "no match") and whose length is within ``lengths``."""
    if match not in MATCH_FILTERS:
        raise ValueError(f"match filter must be one of {', '.join(MATCH_FILTERS)}, not {match!r}")
    low, high = lengths if lengths is not None else (0, 10**9)
    return [
        row for row in rows if low <= row["length"] <= high and (match == "all" or row["match"] == (match == "match"))
    ]


def filtered_accuracy(rows: Sequence[dict]) -> tuple[float | None, int, int]:
    """(exact match, correct, total) over some rows; None when there are none."""
    correct = sum(bool(row["match"]) for row in rows)
    return (correct / len(rows) if rows else None), correct, len(rows)


def per_length_figure(per_length: dict[str, dict], title: str = "Exact match by sentence length") -> go.Figure:
    lengths = sorted(per_length, key=int)
    figure = go.Figure(
        go.Bar(
            x=[int(n) for n in lengths],
            y=[100 * per_length[n]["exact_match"] for n in lengths],
            customdata=[[per_length[n]["correct"], per_length[n]["total"]] for n in lengths],
            hovertemplate="length %{x}<br>exact match %{y:.1f}%<br>%{customdata[0]}/%{customdata[1]}<extra></extra>",
            marker_color="#1f77b4",
        )
    )
    figure.update_layout(
        template=TEMPLATE,
        title={"text": html.escape(title)},
        xaxis={"title": {"text": "source length (tokens)"}, "dtick": 1},
        yaxis={"title": {"text": "exact match (%)"}, "range": [0, 100]},
        height=320,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return figure


# ------------------------------------------------------------------------------------------------- alignment
def alignment_rows(*columns: tuple[str, dict | None]) -> list[dict]:
    """A table of alignment metrics: one row per metric, one column per (name, metrics) pair given."""
    rows = []
    for key, label, meaning in ALIGNMENT_LABELS:
        row = {"metric": label}
        for name, metrics in columns:
            value = (metrics or {}).get(key)
            row[name] = percent(value) if key in PERCENT_METRICS else ("n/a" if value is None else f"{value:.3f}")
        row["meaning"] = meaning
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------- ablation
def ablation_table(ablation: dict) -> list[dict[str, str]]:
    """The rows of ``ablation.json`` (``benchmarks/ablation.py``) as text cells: the variant, "mean ± std" for each
    suite, and the time to 99% valid with how many seeds reached it. Missing or non-numeric values read "n/a"."""

    def number(value) -> float | None:
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    table = []
    for row in ablation.get("rows", []):
        if not isinstance(row, dict):
            continue
        cells = {"variant": str(row.get("variant", "n/a"))}
        for key, value in row.items():
            column = key.removesuffix("_mean")
            if column == key or column in ("t99", "test"):
                continue
            mean, std = number(value), number(row.get(f"{column}_std")) or 0.0
            cells[column] = "n/a" if mean is None else f"{mean:.3f} ± {std:.3f}"
        mean, reached = number(row.get("t99_mean")), str(row.get("t99_reached", "n/a"))
        cells["time to 99% valid"] = f"{mean:.1f} s ({reached})" if mean is not None else f"not reached ({reached})"
        table.append(cells)
    return table


# ------------------------------------------------------------------------------------------------- training
def snapshot_label(snapshot: dict) -> str:
    return f"epoch {snapshot.get('epoch', '?')} · step {snapshot.get('step', '?')}"


def snapshot_figure(snapshot: dict, index: int = 0, title: str = "") -> go.Figure | None:
    """The heatmap of one watched sentence in one training snapshot; None when the snapshot has no such example."""
    examples = snapshot.get("examples") or []
    if not 0 <= index < len(examples):
        return None
    example = examples[index]
    return heatmap_figure(example["tokens"], example["output"], example["attention"], title)


def snapshot_alignment(snapshot: dict, index: int = 0) -> dict | None:
    """The alignment metrics of one watched sentence in one snapshot (how far its attention had formed then)."""
    examples = snapshot.get("examples") or []
    if not 0 <= index < len(examples):
        return None
    ex = examples[index]
    tokens, output = list(ex["tokens"]), list(ex["output"])
    result = Reversal(tokens, [True] * len(tokens), output, output, [False] * len(output), ex["attention"])
    return alignment_metrics([result])


def watched_index(snapshot: dict | None) -> int:
    """Which watched sentence the Train page follows: the middle-length one."""
    examples = (snapshot or {}).get("examples") or []
    return len(examples) // 2 if examples else 0


def training_figure(batches: Sequence[dict], history: Sequence[dict], total_steps: int | None = None) -> go.Figure:
    """Live curves: train loss (per reported batch and per validation) with valid loss; valid exact match; grad norm.

    The x axis is the optimisation step; ``batches`` should already be downsampled (see ``worker.downsample``).
    """
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=("loss", "valid exact match", "gradient norm (before clipping)"),
    )
    steps, eval_steps = [b["step"] for b in batches], [r["step"] for r in history]
    # (name, x, y, subplot row, mode, line style)
    series = [
        ("train loss (batches)", steps, [b["train_loss"] for b in batches], 1, "lines",
         {"color": "rgba(31,119,180,0.45)", "width": 1}),
        ("train loss", eval_steps, [r["train_loss"] for r in history], 1, "lines+markers", {"color": "#1f77b4"}),
        ("valid loss", eval_steps, [r["valid_loss"] for r in history], 1, "lines+markers", {"color": "#d62728"}),
        ("valid exact match (%)", eval_steps, [100 * r["valid_exact_match"] for r in history], 2, "lines+markers",
         {"color": "#2ca02c"}),
        ("gradient norm", steps, [b["grad_norm"] for b in batches], 3, "lines", {"color": "#9467bd", "width": 1}),
    ]  # fmt: skip
    for name, x, y, row, mode, line in series:
        figure.add_trace(go.Scatter(x=x, y=y, name=name, mode=mode, line=line), row=row, col=1)
    figure.update_yaxes(title_text="exact match (%)", range=[0, 100], row=2, col=1)
    figure.update_xaxes(title_text="step", row=3, col=1)
    if total_steps:
        figure.update_xaxes(range=[0, total_steps])
    figure.update_layout(
        template=TEMPLATE,
        height=620,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        legend={"orientation": "h", "y": -0.12},
        uirevision="training",  # keep the user's zoom while the curves grow
    )
    return figure


def status_text(status: str, stop_reason: str | None = None) -> str:
    """A run's status in words."""
    reasons = {
        "epochs": "all epochs done",
        "target_accuracy": "reached the target accuracy",
        "stopped": "stopped by a user",
        "max_seconds": "reached the time limit",
        "diverged": "the loss diverged",
    }
    words = {
        "idle": "no run yet",
        "preparing": "preparing the data",
        "running": "training",
        "stopping": "stopping: finishing the batch, validating and saving",
        "finished": "finished",
        "failed": "failed",
        "interrupted": "interrupted (the server stopped while it ran)",
    }.get(status, status)
    if stop_reason and status in ("finished", "failed"):
        words += f" ({reasons.get(stop_reason, stop_reason)})"
    return words


# ------------------------------------------------------------------------------------------------- compare
def longer_than_trained(
    test_sentences: Sequence[Sequence[str]], longest_trained: int, factor: float = 1.5
) -> str | None:
    """A sentence ``factor`` times as long as the longest training sentence, made by joining the longest test sentences
    (deterministic, from the model's own words): where models without attention, or without its memory of where they
    looked, lose their place. None without a test split."""
    pool = sorted((list(s) for s in test_sentences if s), key=lambda s: (-len(s), s))
    if not pool:
        return None
    target = max(2, round(factor * longest_trained))
    words: list[str] = []
    for sentence in pool * target:
        words += sentence
        if len(words) >= target:
            break
    return " ".join(words[:target])


def no_attention_text(kind: str, words: int, trained: int) -> str:
    """Why a fixed-context model has no heatmap, and why it fails on long input."""
    if kind == "encdec":
        why = (
            "It has no attention to show: every output word is predicted from the same single vector, the encoder's "
            "last state h_Tx, so the whole sentence has to fit in that one fixed-size summary. Short sentences fit; "
            "long ones do not, and it starts to drop, repeat or swap words"
        )
    else:
        why = "It has no attention to show: every output word sees the same average of the encoder states"
    if words > trained:
        return f"{why}. This sentence has {words} words, more than the {trained} of its longest training sentence."
    return f"{why}."
