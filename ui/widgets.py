"""What several pages draw alike: a reversal's words, an attention heatmap with its PNG download, the active model's
test-set report behind a spinner, and the pause that lets the browser paint what a person waits for before the heavy
elements after it."""

import time

import plotly.graph_objects
import streamlit as st

from seq2seq.app.models import LoadedModel
from seq2seq.decoding import Reversal
from seq2seq.evaluation import TestReport
from seq2seq.plots import heatmap_figure, heatmap_png
from ui.session import load_active_model

PAINT_GAP = 0.05
"""Seconds between what a person waits for and the heavy elements sent after it (``let_browser_paint``)."""


def report_on_test_set(model: LoadedModel) -> TestReport:
    """The model's test-set report (computed once per model and cached by it), with a spinner the first time."""
    with st.spinner("Reversing the test set…"):
        return model.test_report()


def words_box(words: list[str], key: str) -> None:
    """A reversal's words shown as they are (``st.text`` parses no Markdown or HTML), in a box. Not ``st.code``: its
    syntax highlighter is a 1.5 MB script that a browser fetches and parses for the first code block it shows, which
    held a first answer back (docs/speed.md)."""
    with st.container(border=True, key=key):
        st.text(" ".join(words))


def let_browser_paint() -> None:
    """Pause ``PAINT_GAP``, so that what the page sends next reaches the browser after it has drawn what came before.

    Streamlit's frontend applies each delta as it arrives (a React state update), and React renders every update
    queued by then in one pass, which the browser paints only when it ends: words sent a few milliseconds before two
    tables and a Plotly chart appear with them, after one long pass. With the script asleep (the GIL free), the
    server sends the words at once; a pause longer than their render and a 60 Hz frame lets them be painted first.
    """
    time.sleep(PAINT_GAP)


def heatmap(
    result: Reversal,
    title: str,
    key: str,
    file_name: str = "attention_heatmap.png",
    figure: plotly.graph_objects.Figure | None = None,
) -> None:
    """The hover-able attention heatmap of one result (``figure`` when it was built already), and a button that
    downloads it as a PNG (drawn on click).

    The chart on the page has no title of its own (the page says what it shows); the PNG carries ``title``. Every
    caller draws the active model's result: for a model without attention it says so instead of drawing its fixed
    weights as if they were an alignment.
    """
    model, _ = load_active_model()
    if model is not None and not model.has_attention:
        st.info(
            f"No attention to show: this model ({model.kind_name}) has none. Every output word is written from the "
            "same context, whatever the word, so there is no alignment to draw.",
            icon=":material/block:",
        )
        return
    figure = figure or heatmap_figure(result.tokens, result.output, result.attention)
    st.plotly_chart(figure, theme=None, key=f"{key}_chart", width="content")
    tokens, output, attention = list(result.tokens), list(result.output), result.attention
    title = title if len(title) <= 60 else title[:59] + "…"
    st.download_button(
        "Download the heatmap (PNG)",
        data=lambda: heatmap_png(tokens, output, attention, title)[0],
        file_name=file_name,
        mime="image/png",
        key=f"{key}_png",
        icon=":material/download:",
        on_click="ignore",
    )
