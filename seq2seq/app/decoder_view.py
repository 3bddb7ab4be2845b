"""What the Decoder page shows, without Streamlit: one step's reading, its charts, and the rows of its tables.

Every figure escapes tokens (``plots.position_labels``) and carries an explicit template, like ``plots``.
"""

from collections.abc import Sequence
from itertools import zip_longest

import plotly.graph_objects as go

from ..decoding import BeamEntry, Reversal, StepRecord
from ..plots import eos_figure, on_template, position_labels
from ..scoring import Score
from ..vocab import EOS
from .views import counted

STEP_FRAGMENT = "decoder_one_step"  # the key of the page's fragment that the step slider reruns
NO_WEIGHTS = "This model does not attend: there are no attention weights to show (its context ignores the query)."


def source_labels(tokens: Sequence[str], escape: bool = True) -> list[str]:
    """The source positions as labels ("1·the", …, "4·<eos>"): escaped for Plotly, or not (``escape=False``) for a
    widget that shows its options as plain text, such as a select box."""
    return position_labels([*tokens, EOS], escape=escape)


def step_reading(record: StepRecord, tokens: Sequence[str], attends: bool) -> str:
    """One line of plain English: where step i looked, how sharply, and what it wrote."""
    wrote = "ends the sentence (<eos>)" if record.token == EOS else f"writes {record.token!r}"
    head = f"Step {record.step + 1}"
    if not attends:
        return f"{head} {wrote}, with probability {record.prob:.2f}."
    peak = max(range(len(record.weights)), key=record.weights.__getitem__)
    where = "the source's <eos>" if peak == len(tokens) else f"source word {peak + 1}, {tokens[peak]!r}"
    forced = {"word": " (the word was forced)", "attention": " (its attention was forced)"}.get(record.forced or "", "")
    return (
        f"{head} looks at {where} with weight {record.weights[peak]:.2f} and {wrote}, "
        f"with probability {record.prob:.2f}{forced}."
    )


def stop_step(steps: Sequence[StepRecord]) -> int | None:
    """The first step (0-based) at which ``<eos>`` is the most likely word: where greedy decoding stops; None when it
    never is (the length cap ends the decode)."""
    return next((record.step for record in steps if record.top and record.top[0].word == EOS), None)


def stop_figure(decoded: Reversal) -> go.Figure:
    """p(<eos>) at every step of a recorded decode, the step where it would stop in red, and where the reversal
    ends."""
    steps = decoded.found.steps
    return eos_figure([r.eos_prob for r in steps], [r.token for r in steps], stop_step(steps), len(decoded.tokens))


def stop_text(decoded: Reversal) -> str:
    """Where the model would stop, against where the reversal ends, in one line."""
    steps, n = decoded.found.steps, len(decoded.tokens)
    stop = stop_step(steps)
    if stop is None:
        return f"<eos> is never the most likely word: the length cap ends this decode after {len(steps)} steps."
    where = "exactly where the reversal ends" if stop == n else "too soon" if stop < n else "too late"
    return (
        f"<eos> first becomes the most likely word at step {stop + 1} (p = {steps[stop].eos_prob:.3f}): "
        f"{where}, since the reversal of {n} words ends at step {n + 1}."
    )


def weights_figure(record: StepRecord, tokens: Sequence[str]) -> go.Figure:
    """alpha_i over the source positions, as bars."""
    bars = go.Bar(
        x=source_labels(tokens),
        y=record.weights,
        marker_color="#1f77b4",
        hovertemplate="%{x}<br>weight %{y:.3f}<extra></extra>",
    )
    layout = {  # given whole, as in ``plots``: update_layout took several times as long
        "yaxis": {"title": {"text": "attention weight"}, "range": [0, 1]},
        "xaxis": {"type": "category"},
        "height": 300,
        "margin": {"l": 60, "r": 20, "t": 20, "b": 60},
    }
    return on_template(go.Figure(bars, layout))


def energy_figure(record: StepRecord, tokens: Sequence[str]) -> go.Figure | None:
    """Per source position: the projections on v_a of the query, key and location terms (those the model has) as
    stacked bars, and the energy e_ij the model computed as a marker (the tanh between them is why they do not add up
    to it)."""
    energy = record.energy
    if energy is None:
        return None
    x = source_labels(tokens)
    parts = [] if energy.query is None else [("from the previous state: v·W_a s", energy.query, "#9ecae1")]
    parts.append(("from the word: v·U_a h_j", energy.keys, "#3182bd"))
    if energy.location is not None:
        parts.append(("from where it looked last: v·U_f(F*α)", energy.location, "#fd8d3c"))
    traces = [
        go.Bar(name=name, x=x, y=values, marker_color=color, hovertemplate="%{x}<br>%{y:.2f}<extra></extra>")
        for name, values, color in parts
    ]
    traces.append(
        go.Scatter(
            name="energy e_ij = v·tanh(sum)",
            x=x,
            y=energy.energies,
            mode="markers",
            marker={"symbol": "diamond", "size": 12, "color": "black"},
            hovertemplate="%{x}<br>energy %{y:.2f}<extra></extra>",
        )
    )
    layout = {  # given whole, as in ``plots``
        "barmode": "relative",
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": "contribution (projected on v_a)"}},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.3},
        "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
    }
    return on_template(go.Figure(traces, layout))


def top_rows(record: StepRecord) -> list[dict]:
    return [
        {
            "rank": i,
            "word": c.word,
            "probability": round(c.prob, 4),
            "chosen": "← written" if c.word == record.token else "",
        }
        for i, c in enumerate(record.top, start=1)
    ]


def first_difference(a: Sequence[str], b: Sequence[str]) -> int | None:
    """The first step (0-based) where two outputs differ, or None when they are the same."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def recovery_text(original: Sequence[str], changed: Sequence[str]) -> str:
    """Whether decoding got back on track after a change: do the outputs agree again after the first difference?
    Outputs are without their ``<eos>``: one that stops where they first differ was ended there by the change."""
    first = first_difference(original, changed)
    if first is None:
        return "The output is the same as the model's own: the change made no difference."
    if len(changed) == first:
        return (
            f"They first differ at step {first + 1}, where the change ends the output: the model's own goes on for "
            f"{counted(len(original) - first, 'more word')}."
        )
    later = sum(x != y for x, y in zip_longest(original[first + 1 :], changed[first + 1 :]))
    if not later:
        return f"They first differ at step {first + 1}; every word after it is the model's own again: back on track."
    return (
        f"They first differ at step {first + 1}, and {counted(later, 'later word')} "
        f"{'differs' if later == 1 else 'differ'} too: it did not get back on track."
    )


def hypothesis_rows(decoded: Reversal) -> list[dict]:
    return [
        {
            "rank": i,
            "output": " ".join(h.output),
            "log-probability": round(h.found.log_prob, 4),
            "ranking score": round(h.found.score, 4),
        }
        for i, h in enumerate(decoded.hypotheses, start=1)
    ]


def beam_step_rows(entries: Sequence[BeamEntry]) -> list[dict]:
    return [
        {"hypothesis so far": " ".join(e.words), "log-probability": round(e.log_prob, 4), "what the beam did": e.status}
        for e in entries
    ]


def score_rows(score: Score) -> list[dict]:
    return [
        {
            "step": i,
            "candidate's token": t.token,
            "its log-probability": round(t.log_prob, 4),
            "the model would say": t.model_token,
            "with log-probability": round(t.model_log_prob, 4),
            "agrees": "yes" if t.agrees else "NO",
        }
        for i, t in enumerate(score.tokens, start=1)
    ]


def swapped_reversal(tokens: Sequence[str]) -> str:
    """The true reversal with its first two words swapped: a near miss worth scoring."""
    words = list(tokens)[::-1]
    if len(words) >= 2:
        words[0], words[1] = words[1], words[0]
    return " ".join(words)


ENERGY_CAPTION = (
    "Each bar is one term inside e_ij = v_a · tanh(W_a s_{i−1} + U_a h_j [+ U_f(F∗α_{i−1})_j]) projected on v_a, so "
    "it is a number per source word; the diamond is the energy the model computed. The tanh squashes the sum, so the "
    "bars do not add up to the diamond exactly, but the tallest stack is where the energy, and the weight, peak. The "
    "previous-state part is the same for every word: on its own it cannot move the peak, only through the tanh."
)
BEAM_CAPTION = (
    "Each step extends every live hypothesis by every word and weighs the 2×beam best: an <eos> among the first "
    "beam-many finishes a hypothesis, the beam-many best others are kept, the rest are dropped. Ranked by total "
    "log-probability, <eos> included; the greedy answer is always in the pool, so a wider beam is never worse."
)


def mark_row(figure: go.Figure, step: int | None) -> None:
    """Outline one decoder step (0-based) of a heatmap from ``plots.heatmap_figure``: the first that differs."""
    if step is None or step >= len(figure.data[0].y):
        return
    row = figure.data[0].y[step]
    line = go.layout.Shape(type="line", xref="x domain", x0=0, x1=1, y0=row, y1=row, yref="y",
                           line={"color": "red", "width": 3, "dash": "dot"})  # fmt: skip
    note = go.layout.Annotation(x=1.0, xref="paper", y=row, text="first difference", showarrow=False,
                                xanchor="right", font={"color": "red"}, yshift=12)  # fmt: skip
    # Added to the layout as they are: add_hline and add_annotation work out the subplot first, several times slower.
    figure.layout.shapes = (*figure.layout.shapes, line)
    figure.layout.annotations = (*figure.layout.annotations, note)
