"""Attention heatmaps: an interactive Plotly figure, and a PNG of the same matrix.

Axis labels carry the position (``3·the``) because Plotly merges equal category labels, which would fold repeated
words into one cell. A token longer than ``MAX_LABEL_CHARS`` is cut, with an ellipsis, on the axes (a 2,000-character
one pushed the chart off the page); the hover text shows it whole. Tokens are HTML-escaped, since Plotly renders a
subset of HTML in labels and hover text.
The template and colour scale are set explicitly: importing Streamlit switches Plotly's default template to one
whose colours only a browser fills in, and a PNG exported from it comes out near-black.
"""

import html
import io
import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .fileio import atomic_write
from .records import BatchPoint, HistoryRow

COLOR_SCALE = "Blues"
TEMPLATE = "plotly_white"
MAX_LABEL_CHARS = 24
"""Longest token shown whole on an axis; longer ones keep their first characters and an ellipsis."""


def shorten(token: str, limit: int | None = MAX_LABEL_CHARS) -> str:
    return token if limit is None or len(token) <= limit else token[: limit - 1] + "…"


def position_labels(tokens: Sequence[str], escape: bool = True, limit: int | None = MAX_LABEL_CHARS) -> list[str]:
    """``["the", "cat", "the"]`` -> ``["1·the", "2·cat", "3·the"]``: distinct; each token cut to ``limit`` characters
    (None: whole); escaped, safe in Plotly."""
    return [
        f"{i}·{html.escape(shorten(tok, limit), quote=False) if escape else shorten(tok, limit)}"
        for i, tok in enumerate(tokens, start=1)
    ]


def on_template(figure: go.Figure) -> go.Figure:
    """``figure`` on the ``TEMPLATE`` template, its values copied as they are, as Plotly sets its own default
    template (``BaseFigure._initialize_layout_template``). A template set by name (``update_layout(template=...)``) is
    rebuilt and every value of it checked again: about 12 ms under the GIL for each figure, most of the cost of a
    small one, where a server drawing for a class builds hundreds a minute. Call it once the figure holds its traces:
    it keeps the template's defaults for their types only (``template_for``)."""
    layout = figure.layout
    layout._validate = False  # Plotly's own switch (pinned in requirements.txt) for a template known to be valid
    try:
        layout.template = template_for(frozenset(trace.type for trace in figure.data))
    finally:
        layout._validate = figure._validate
    return figure


@lru_cache(maxsize=16)
def template_for(trace_types: frozenset[str]) -> go.layout.Template:
    """``TEMPLATE`` with the trace defaults of ``trace_types`` only: its layout whole, and none of the defaults of the
    two dozen trace types a figure does not draw, which the browser would never use. Those were most of a small
    figure's template, and a figure's template is copied, serialised and sent with it every time a session draws it
    (a heatmap's JSON was 70% template)."""
    whole = pio.templates[TEMPLATE].to_plotly_json()
    data = {kind: defaults for kind, defaults in whole["data"].items() if kind in trace_types}
    return go.layout.Template({"layout": whole["layout"], "data": data}, _validate=False)  # its values are valid


def heatmap_figure(
    source: Sequence[str], output: Sequence[str], attention: Sequence[Sequence[float]], title: str = ""
) -> go.Figure:
    """Rows are decoder steps (output tokens, then ``<eos>``); columns are encoder positions (source tokens, ``<eos>``).

    ``attention`` has one row per output token plus one for the ``<eos>`` step (fewer when decoding hit its length
    cap) and one column per source token plus ``<eos>``. The cells go to Plotly as NumPy arrays: it checks and copies
    those whole, where nested lists cost it a walk over every cell (a 100-token heatmap built four times faster).
    """
    x = position_labels([*source, "<eos>"])
    y = position_labels([*output, "<eos>"])[: len(attention)]
    whole_x = position_labels([*source, "<eos>"], limit=None)
    whole_y = position_labels([*output, "<eos>"], limit=None)[: len(attention)]
    size = max(len(x), len(y))
    layout = {
        "title": {"text": html.escape(title, quote=False), "y": 0.98, "yanchor": "top"} if title else None,
        "xaxis": {
            "title": {"text": "encoder tokens (input)"},
            "side": "top",
            "type": "category",
            "tickangle": -45,
            "automargin": True,
        },
        "yaxis": {
            "title": {"text": "decoder steps (output)"},
            "autorange": "reversed",
            "type": "category",
            "automargin": True,
        },
        "width": max(420, 60 + 38 * size),
        "height": max(380, 90 + 34 * size),
        "margin": {"l": 110, "r": 30, "t": 150 if title else 110, "b": 30},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }
    heatmap = go.Heatmap(
        z=np.asarray([list(row) for row in attention], dtype=float),  # (steps, sources)
        x=x,
        y=y,
        customdata=np.array([[[out, src] for src in whole_x] for out in whole_y], dtype=object),  # (steps, sources, 2)
        zmin=0.0,
        zmax=1.0,
        colorscale=COLOR_SCALE,
        colorbar={"title": {"text": "weight"}},
        hovertemplate="output %{customdata[0]}<br>input %{customdata[1]}<br>weight %{z:.3f}<extra></extra>",
    )
    figure = go.Figure(heatmap, layout)  # the layout given whole: update_layout took four times as long
    return on_template(figure)


def with_clickable_rows(figure: go.Figure) -> go.Figure:
    """The heatmap of ``heatmap_figure`` with a click target on every cell, so that a click can pick a decoder step.

    Plotly reports no click on a heatmap, so a transparent square marker sits on each cell; a click selects it, and
    ``st.plotly_chart(on_select=...)`` reports its ``customdata``: the whole output and input tokens, the step (1 for
    the first row) and the weight. The markers carry the cell's hover text, and the heatmap's own hover is off so the
    two do not compete.
    """
    heatmap = figure.data[0]
    rows, columns = len(heatmap.y), len(heatmap.x)
    cells = [(r, c) for r in range(rows) for c in range(columns)]
    figure.add_trace(
        go.Scatter(
            x=[heatmap.x[c] for _, c in cells],
            y=[heatmap.y[r] for r, _ in cells],
            customdata=np.array(  # (cells, 4): whole output and input tokens, step, weight
                [[*heatmap.customdata[r][c], r + 1, float(heatmap.z[r][c])] for r, c in cells], dtype=object
            ),
            mode="markers",
            marker={"symbol": "square", "size": 30, "opacity": 0},
            hovertemplate="step %{customdata[2]}: output %{customdata[0]}<br>input %{customdata[1]}<br>"
            "weight %{customdata[3]:.3f}<br><i>click to open this step</i><extra></extra>",
            hoverlabel={"bgcolor": "white", "bordercolor": "#1f4e79", "font": {"color": "black"}},
            showlegend=False,
        )
    )
    heatmap.hoverinfo = "skip"
    return on_template(figure)  # again: the template now keeps the markers' trace type too


def heatmap_png(
    source: Sequence[str], output: Sequence[str], attention: Sequence[Sequence[float]], title: str = ""
) -> tuple[bytes, str]:
    """The heatmap as PNG bytes and the engine that drew it: "kaleido" where a Chrome or Chromium is there to drive,
    else "matplotlib" drawing the same matrix and labels."""
    try:
        return heatmap_figure(source, output, attention, title).to_image(format="png", scale=2), "kaleido"
    except Exception as error:  # kaleido without a browser raises its own errors; any failure falls back
        logging.getLogger(__name__).info("kaleido export failed (%s); drawing with matplotlib", error)
    return _matplotlib_png(source, output, attention, title), "matplotlib"


def _matplotlib_png(
    source: Sequence[str], output: Sequence[str], attention: Sequence[Sequence[float]], title: str
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    x = position_labels([*source, "<eos>"], escape=False)
    y = position_labels([*output, "<eos>"], escape=False)[: len(attention)]
    size = max(len(x), len(y))
    fig = Figure(figsize=(max(4.5, 0.5 * size + 2), max(4.0, 0.45 * size + 1.5)), dpi=150)
    ax = fig.add_subplot()
    image = ax.imshow(attention, cmap=COLOR_SCALE, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(x)), x, rotation=45, ha="left")
    ax.set_yticks(range(len(y)), y)
    ax.xaxis.tick_top()
    ax.set_xlabel("encoder tokens (input)")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("decoder steps (output)")
    if title:
        ax.set_title(title, pad=30)
    fig.colorbar(image, ax=ax, label="weight")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def write_heatmap_png(path: str | Path, source, output, attention, title: str = "") -> str:
    """Write the heatmap PNG atomically; return the engine used."""
    data, engine = heatmap_png(source, output, attention, title)
    atomic_write(path, lambda handle: handle.write(data))
    return engine


# ------------------------------------------------------------------------------------------------- other figures
def per_length_figure(per_length: dict[str, dict], title: str = "Exact match by sentence length") -> go.Figure:
    """Exact match per source length; the counts are in the hover where the rows hold them (a replay's do not)."""
    lengths = sorted(per_length, key=int)
    counted = all("total" in row for row in per_length.values())
    figure = go.Figure(
        go.Bar(
            x=[int(n) for n in lengths],
            y=[100 * per_length[n]["exact_match"] for n in lengths],
            customdata=[[per_length[n]["correct"], per_length[n]["total"]] for n in lengths] if counted else None,
            hovertemplate="length %{x}<br>exact match %{y:.1f}%"
            + ("<br>%{customdata[0]}/%{customdata[1]}" if counted else "")
            + "<extra></extra>",
            marker_color="#1f77b4",
        )
    )
    figure.update_layout(
        title={"text": html.escape(title)},
        xaxis={"title": {"text": "source length (tokens)"}, "dtick": 1},
        yaxis={"title": {"text": "exact match (%)"}, "range": [0, 100]},
        height=320,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return on_template(figure)


FAILURE_COLORS = ["#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
"""One colour per failure label, in the order ``seq2seq.failures.FAILURES`` gives them."""


def failures_figure(per_length: dict[str, dict], title: str = "Wrong decodes by length, by failure") -> go.Figure:
    """Per source length, the wrong decodes stacked by failure label (``metrics.per_length_accuracy`` rows; a row
    without failure counts, as in a file written before they were kept, adds nothing)."""
    lengths = sorted(per_length, key=int)
    labels = list(next((row["failures"] for row in per_length.values() if "failures" in row), {}))
    figure = go.Figure(
        [
            go.Bar(
                name=html.escape(label),
                x=[int(n) for n in lengths],
                y=[per_length[n].get("failures", {}).get(label, 0) for n in lengths],
                customdata=[per_length[n]["total"] for n in lengths],
                hovertemplate=f"length %{{x}}<br>{html.escape(label)}: %{{y}} of %{{customdata}}<extra></extra>",
                marker_color=FAILURE_COLORS[i % len(FAILURE_COLORS)],
            )
            for i, label in enumerate(labels)
        ]
    )
    figure.update_layout(
        barmode="stack",
        title={"text": html.escape(title)},
        xaxis={"title": {"text": "source length (tokens)"}, "dtick": 1},
        yaxis={"title": {"text": "wrong decodes"}, "rangemode": "tozero"},
        height=340,
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return on_template(figure)


def eos_figure(eos_probs: Sequence[float], written: Sequence[str], stop: int | None, source_length: int) -> go.Figure:
    """p(<eos>) at every decoder step, as bars, with the step where it would stop (``stop``, 0-based) and the step
    where the reversal ends (``source_length`` + 1, 1-based) marked."""
    steps = list(range(1, len(eos_probs) + 1))
    colors = ["#d62728" if stop is not None and step - 1 == stop else "#1f77b4" for step in steps]
    bars = go.Bar(
        x=steps,
        y=list(eos_probs),
        customdata=[html.escape(shorten(word)) for word in written],
        marker_color=colors,
        hovertemplate="step %{x} writes %{customdata}<br>p(&lt;eos&gt;) %{y:.4f}<extra></extra>",
    )
    ends = source_length + 1
    layout = {  # given whole, with the mark and its note: add_vline and update_layout took four times as long
        "shapes": [
            {"type": "line", "x0": ends, "x1": ends, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
             "line": {"color": "green", "dash": "dot"}},
        ],
        "annotations": [
            {"x": ends, "y": 1.0, "text": "the reversal ends here", "showarrow": False, "xanchor": "right",
             "yanchor": "top"},
        ],
        "xaxis": {"title": {"text": "decoder step"}, "dtick": 1 if len(steps) <= 30 else None},
        "yaxis": {"title": {"text": "p(&lt;eos&gt;)"}, "range": [0, 1.05]},
        "height": 220,
        "showlegend": False,
        "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
    }  # fmt: skip
    figure = go.Figure(bars, layout)
    return on_template(figure)


# ------------------------------------------------------------------------------------------------- a class's answers
MAX_ANSWER_BARS = 12
"""Answers drawn with a bar each, most given first; the rest share an "other answers" bar (a truth always has its
own)."""
TRUTH_MARK = "✓ truth"


def class_answers_figure(answers: Mapping[str, int], truths: Sequence[str]) -> go.Figure:
    """How a class answered one step: a horizontal bar per answer (``answers``: label -> learners, most given first),
    the truth's bar marked three ways, so that colour is never the only sign: a ✓ before its label, "✓ truth" after
    its count, and a hatched fill."""
    kept = list(answers)[:MAX_ANSWER_BARS]
    kept += [label for label in truths if label not in kept]  # past the cut, or given by no one: a bar still
    bars = [(label, answers.get(label, 0), label in truths) for label in kept]  # label, learners, is a truth
    rest = [label for label in answers if label not in kept]
    if rest:
        bars.append((f"other answers ({len(rest)})", sum(answers[label] for label in rest), False))
    figure = go.Figure(
        go.Bar(
            x=[count for _, count, _ in bars],
            y=[f"✓ {html.escape(label)}" if truth else html.escape(label) for label, _, truth in bars],
            orientation="h",
            text=[f"{count} · {TRUTH_MARK}" if truth else str(count) for _, count, truth in bars],
            textposition="outside",
            cliponaxis=False,
            marker={
                "color": ["#2ca02c" if truth else "#1f77b4" for _, _, truth in bars],
                "pattern": {"shape": ["/" if truth else "" for _, _, truth in bars], "fgcolor": "white"},
            },
            hovertemplate="%{y}: %{x} learners<extra></extra>",
        )
    )
    most = max(count for _, count, _ in bars) if bars else 0
    figure.update_layout(
        xaxis={"title": {"text": "learners"}, "range": [0, max(most, 1) * 1.3]},
        yaxis={"autorange": "reversed", "type": "category"},
        height=70 + 32 * len(bars),
        showlegend=False,
        margin={"l": 20, "r": 20, "t": 10, "b": 40},
    )
    return on_template(figure)


# The curves of training_figure, in trace order: (name, subplot row, mode, line style).
TRAINING_TRACES = [
    ("train loss (batches)", 1, "lines", {"color": "rgba(31,119,180,0.45)", "width": 1}),
    ("train loss", 1, "lines+markers", {"color": "#1f77b4"}),
    ("valid loss", 1, "lines+markers", {"color": "#d62728"}),
    ("valid exact match (%)", 2, "lines+markers", {"color": "#2ca02c"}),
    ("gradient norm", 3, "lines", {"color": "#9467bd", "width": 1}),
]


def training_series(batches: Sequence[BatchPoint], history: Sequence[HistoryRow]) -> list[tuple[list, list]]:
    """The (x, y) of each curve in ``TRAINING_TRACES``: batch points and validation rows against the step."""
    steps, eval_steps = [b["step"] for b in batches], [r["step"] for r in history]
    return [
        (steps, [b["train_loss"] for b in batches]),
        (eval_steps, [r["train_loss"] for r in history]),
        (eval_steps, [r["valid_loss"] for r in history]),
        (eval_steps, [100 * r["valid_exact_match"] for r in history]),
        (steps, [b["grad_norm"] for b in batches]),
    ]


def training_figure(
    batches: Sequence[BatchPoint], history: Sequence[HistoryRow], total_steps: int | None = None
) -> go.Figure:
    """Live curves: train loss (per reported batch and per validation) with valid loss; valid exact match; grad norm.

    The x axis is the optimisation step; ``batches`` should already be downsampled (``seq2seq.app.worker.downsample``).
    Building one takes about 0.1 s; a live view moves an existing one's data instead (``training_series``).
    """
    figure = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=("loss", "valid exact match", "gradient norm (before clipping)"),
    )
    for (name, row, mode, line), (x, y) in zip(TRAINING_TRACES, training_series(batches, history), strict=True):
        figure.add_trace(go.Scatter(x=x, y=y, name=name, mode=mode, line=line), row=row, col=1)
    figure.update_yaxes(title_text="exact match (%)", range=[0, 100], row=2, col=1)
    figure.update_xaxes(title_text="step", row=3, col=1)
    if total_steps:
        figure.update_xaxes(range=[0, total_steps])
    figure.update_layout(
        height=620,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        legend={"orientation": "h", "y": -0.12},
        uirevision="training",  # keep the user's zoom while the curves grow
    )
    return on_template(figure)


# ------------------------------------------------------------------------------------------------- Figure 2
KIND_COLORS = {"encdec": "#d62728", "additive": "#1f77b4", "location": "#2ca02c", "stop": "#9467bd"}


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def paper_figure(data, metric: str = "exact_match_per_length") -> go.Figure:
    """Figure 2 on reversal: one line per model and cap (solid: long cap, dotted: short cap), the seeds' range as a
    band around the mean; hover a point for its value."""
    from .paper_figure import series

    lines = series(data, metric)
    longest_cap = max((line.max_train_length for line in lines), default=0)
    figure = go.Figure()
    for line in lines:
        color = KIND_COLORS.get(line.attention, "#7f7f7f")
        group = f"{line.attention}-{line.max_train_length}"
        figure.add_trace(
            go.Scatter(
                x=line.lengths + line.lengths[::-1],
                y=line.high + line.low[::-1],
                fill="toself",
                fillcolor=_rgba(color, 0.15),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=group,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=line.lengths,
                y=line.mean,
                mode="lines+markers",
                name=html.escape(line.label, quote=False),
                legendgroup=group,
                line={"color": color, "dash": "solid" if line.max_train_length == longest_cap else "dot"},
                marker={"size": 4},
                customdata=list(zip(line.low, line.high, strict=True)),
                hovertemplate=f"{html.escape(line.label, quote=False)}<br>%{{x}} words: %{{y:.3f}} "
                f"(seeds {line.seeds}: %{{customdata[0]:.2f}}–%{{customdata[1]:.2f}})<extra></extra>",
            )
        )
    for cap in sorted({line.max_train_length for line in lines}):
        figure.add_vline(x=cap, line={"color": "#999", "width": 1, "dash": "dash"})
    figure.update_layout(
        xaxis={"title": {"text": "source sentence length (words)"}},
        yaxis={
            "title": {"text": "exact match" if metric.startswith("exact") else "token accuracy"},
            "range": [0, 1.02],
        },
        legend={"orientation": "h", "y": -0.2},
        height=520,
        margin={"l": 60, "r": 20, "t": 30, "b": 30},
        hovermode="closest",
    )
    return on_template(figure)


def write_paper_figure_png(path: str | Path, data) -> str:
    """The figure as a PNG (matplotlib: the same lines and bands), written atomically; returns the engine."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from .paper_figure import series

    lines = series(data)
    longest_cap = max((line.max_train_length for line in lines), default=0)
    fig = Figure(figsize=(9, 5.5), dpi=120)
    ax = fig.add_subplot()
    for line in lines:
        color = KIND_COLORS.get(line.attention, "#7f7f7f")
        ax.fill_between(line.lengths, line.low, line.high, color=color, alpha=0.15, linewidth=0)
        style = "-" if line.max_train_length == longest_cap else ":"
        ax.plot(line.lengths, line.mean, style, color=color, marker=".", label=line.label)
    for cap in sorted({line.max_train_length for line in lines}):
        ax.axvline(cap, color="#999", linewidth=1, linestyle="--")
    ax.set_xlabel("source sentence length (words)")
    ax.set_ylabel("exact match")
    ax.set_ylim(0, 1.02)
    ax.set_title("Reversal, after Bahdanau et al. (2014) Figure 2 (band: range over seeds)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white")
    atomic_write(path, lambda handle: handle.write(buffer.getvalue()))
    return "matplotlib"


# ------------------------------------------------------------------------------------------------- the replay
MARK_STYLES = {"emergence": ("#ff7f0e", "star", "right"), "exact": ("#2ca02c", "diamond", "left")}
"""Colour, symbol and label side (left or right of its line, so that two close markers' labels do not overlap) of each
kind of replay marker (``seq2seq.replay.Marker.kind``)."""

Mark = tuple[str, str, int]
"""A replay marker as the figures take it: (kind, label, step)."""


def replay_curve_figure(history: Sequence[HistoryRow], marks: Sequence[Mark], step: int | None = None) -> go.Figure:
    """A run's curves per validation, every point a click target: the losses above, the valid exact match below. A
    click selects a point, and ``st.plotly_chart(on_select=...)`` reports its step as ``customdata``. The markers
    are dashed vertical lines with their label; ``step``, the moment shown, a grey one."""
    steps = [row["step"] for row in history]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    curves = [
        ("train loss", 1, [row["train_loss"] for row in history], "#1f77b4"),
        ("valid loss", 1, [row["valid_loss"] for row in history], "#d62728"),
        ("valid exact match (%)", 2, [100 * row["valid_exact_match"] for row in history], "#2ca02c"),
    ]
    for name, row, values, color in curves:
        figure.add_trace(
            go.Scatter(
                x=steps,
                y=values,
                customdata=steps,
                name=name,
                mode="lines+markers",
                line={"color": color},
                marker={"size": 9},
                hovertemplate=f"{name}: %{{y:.4g}} at step %{{x:,}}<br><i>click to replay this moment</i>"
                "<extra></extra>",
            ),
            row=row,
            col=1,
        )
    for kind, label, at in marks:
        color, _, side = MARK_STYLES[kind]
        figure.add_vline(x=at, line={"color": color, "dash": "dash", "width": 2})
        figure.add_annotation(
            x=at,
            y=1.0,
            yref="paper",
            text=html.escape(label),
            showarrow=False,
            font={"color": color},
            xanchor=side,
            yanchor="bottom",
        )
    if step is not None:
        figure.add_vline(x=step, line={"color": "#555", "width": 1})
    figure.update_yaxes(title_text="loss", row=1, col=1)
    figure.update_yaxes(title_text="exact match (%)", range=[0, 102], row=2, col=1)
    figure.update_xaxes(title_text="step", row=2, col=1)
    figure.update_layout(
        height=420,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.18},
        clickmode="event+select",
        hovermode="closest",
        uirevision="replay",
    )
    return on_template(figure)


def overlay_figure(runs: Sequence[tuple[str, Sequence[HistoryRow], Sequence[Mark]]]) -> go.Figure:
    """Several runs' valid exact match on one step axis, each run's markers as symbols on its own curve."""
    figure = go.Figure()
    colors = ["#2ca02c", "#1f77b4", "#d62728", "#9467bd", "#8c564b"]
    for index, (name, history, marks) in enumerate(runs):
        color, label = colors[index % len(colors)], html.escape(name, quote=False)
        exact = {row["step"]: 100 * row["valid_exact_match"] for row in history}
        figure.add_trace(
            go.Scatter(
                x=list(exact),
                y=list(exact.values()),
                name=label,
                legendgroup=label,
                mode="lines",
                line={"color": color},
                hovertemplate=f"{label}<br>step %{{x:,}}: %{{y:.1f}}%<extra></extra>",
            )
        )
        for kind, mark, at in marks:
            _, symbol, _ = MARK_STYLES[kind]
            figure.add_trace(
                go.Scatter(
                    x=[at],
                    y=[exact.get(at, 0.0)],
                    name=f"{label}: {html.escape(mark)}",
                    legendgroup=label,
                    mode="markers",
                    marker={"symbol": symbol, "size": 14, "color": color, "line": {"color": "black", "width": 1}},
                    hovertemplate=f"{label}: {html.escape(mark)} at step %{{x:,}}<extra></extra>",
                )
            )
    figure.update_layout(
        xaxis={"title": {"text": "step"}},
        yaxis={"title": {"text": "valid exact match (%)"}, "range": [0, 102]},
        height=380,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return on_template(figure)


def _moment_heatmap(example: dict) -> go.Heatmap:
    """One watched sentence's attention at one moment, on numeric axes (the labels go in the layout's ticks)."""
    return go.Heatmap(
        z=np.asarray(example["attention"], dtype=float), zmin=0.0, zmax=1.0, colorscale=COLOR_SCALE, showscale=False
    )


def _moment_ticks(example: dict, limit: int = 12) -> tuple[dict, dict]:
    """The (x, y) axis ticks of one watched sentence: its source words and what the model wrote."""
    source = position_labels([*example["tokens"], "<eos>"], limit=limit)
    output = position_labels([*example["output"], "<eos>"], limit=limit)[: len(example["attention"])]
    x = {"tickvals": list(range(len(source))), "ticktext": source, "tickangle": -60, "side": "top"}
    y = {"tickvals": list(range(len(output))), "ticktext": output, "autorange": "reversed"}
    return x, y


def moment_title(snapshot: dict) -> str:
    share = snapshot.get("mirror_peak_share")
    shown = "n/a (no attention)" if share is None else f"{100 * share:.1f}%"
    return f"step {snapshot['step']:,} (epoch {snapshot['epoch']}): peak on the mirror word in {shown} of steps"


def replay_animation_figure(snapshots: Sequence[dict], title: str) -> go.Figure:
    """The replay as one Plotly figure with a frame per moment: each watched sentence's heatmap side by side, a
    slider over the moments and a play button, so that it plays in any browser without a server."""
    count = len(snapshots[0]["examples"]) if snapshots else 0
    figure = make_subplots(rows=1, cols=max(1, count), horizontal_spacing=0.08)

    def layout_of(snapshot: dict) -> dict:
        axes: dict = {"title": {"text": html.escape(f"{title}: {moment_title(snapshot)}", quote=False)}}
        for index, example in enumerate(snapshot["examples"], start=1):
            x, y = _moment_ticks(example)
            suffix = "" if index == 1 else str(index)
            axes[f"xaxis{suffix}"], axes[f"yaxis{suffix}"] = x, y
        return axes

    for index, example in enumerate(snapshots[0]["examples"] if snapshots else [], start=1):
        figure.add_trace(_moment_heatmap(example), row=1, col=index)
    figure.frames = [
        go.Frame(
            name=str(s["step"]),
            data=[_moment_heatmap(example) for example in s["examples"]],
            layout=layout_of(s),
        )
        for s in snapshots
    ]
    animate = {"frame": {"duration": 600, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
    figure.update_layout(
        height=560,
        margin={"l": 110, "r": 30, "t": 170, "b": 120},
        updatemenus=[
            {
                "type": "buttons",
                "x": 0.0,
                "y": -0.08,
                "xanchor": "left",
                "buttons": [
                    {"label": "▶ play", "method": "animate", "args": [None, {**animate, "fromcurrent": True}]},
                    {"label": "❚❚ pause", "method": "animate", "args": [[None], {**animate, "mode": "immediate"}]},
                ],
            }
        ],
        sliders=[
            {
                "x": 0.15,
                "y": -0.05,
                "len": 0.85,
                "currentvalue": {"prefix": "step "},
                "steps": [
                    {"label": f"{s['step']:,}", "method": "animate", "args": [[str(s["step"])], animate]}
                    for s in snapshots
                ],
            }
        ],
    )
    if snapshots:
        figure.update_layout(layout_of(snapshots[0]))
    return on_template(figure)


# ------------------------------------------------------------------------------------------------- lessons
def length_curves_figure(
    curves: dict[str, dict[int, float]], threshold: float, trained: int | None = None
) -> go.Figure:
    """Exact match by source length, one line per model (``curves``: name -> length -> share), with the share below
    which a model is said to fail drawn as a dotted line and, when given, the longest example trained on."""
    colors = list(KIND_COLORS.values())
    figure = go.Figure(
        [
            go.Scatter(
                name=html.escape(name),
                x=sorted(curve),
                y=[100 * curve[n] for n in sorted(curve)],
                mode="lines+markers",
                line={"color": colors[i % len(colors)]},
                hovertemplate=f"{html.escape(name)}<br>length %{{x}}<br>exact match %{{y:.0f}}%<extra></extra>",
            )
            for i, (name, curve) in enumerate(curves.items())
        ]
    )
    figure.add_hline(y=100 * threshold, line={"color": "gray", "dash": "dot"})
    if trained:
        figure.add_vline(x=trained, line={"color": "green", "dash": "dot"})
        figure.add_annotation(x=trained, y=5, text="longest trained", showarrow=False, xanchor="right")
    figure.update_layout(
        xaxis={"title": {"text": "source length (tokens)"}},
        yaxis={"title": {"text": "exact match (%)"}, "range": [0, 105]},
        height=320,
        legend={"orientation": "h", "y": -0.3},
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
    )
    return on_template(figure)


def mirror_weight_figure(weights: Sequence[float]) -> go.Figure:
    """How much of each decoder step's attention is on the word it must copy: a histogram of those weights."""
    figure = go.Figure(
        go.Histogram(x=list(weights), xbins={"start": 0, "end": 1.0001, "size": 0.05}, marker_color="#1f77b4")
    )
    figure.update_layout(
        xaxis={"title": {"text": "weight on the mirror word"}, "range": [0, 1.02]},
        yaxis={"title": {"text": "decoder steps"}},
        height=280,
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
    )
    return on_template(figure)


def progress_figure(
    titles: Sequence[str], points: Sequence[float], answered: Sequence[int], steps: Sequence[int]
) -> go.Figure:
    """A learner's progress, one bar per lesson: its steps answered (light) and the points they scored (dark)."""
    names = [html.escape(title) for title in titles]
    figure = go.Figure(
        [
            go.Bar(name="steps", y=names, x=list(steps), orientation="h", marker_color="#deebf7"),
            go.Bar(name="answered", y=names, x=list(answered), orientation="h", marker_color="#9ecae1"),
            go.Bar(name="points", y=names, x=list(points), orientation="h", marker_color="#3182bd"),
        ]
    )
    figure.update_layout(
        barmode="overlay",
        height=60 + 26 * len(names),
        xaxis={"dtick": 1, "title": {"text": "steps"}},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.45},
        margin={"l": 220, "r": 20, "t": 10, "b": 30},
    )
    return on_template(figure)
