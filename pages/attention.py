"""Attention: the heatmap of any example or typed sentence, its alignment metrics, and how it formed in training."""

import pandas as pd
import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.app.views import alignment_rows, snapshot_alignment, snapshot_example, snapshot_label
from seq2seq.evaluation import SHOWCASE_SENTENCE
from seq2seq.metrics import alignment_metrics
from seq2seq.plots import heatmap_figure
from seq2seq.tokenize import InputError
from ui import session, widgets

TEST, TYPED = "a test example", "a sentence I type"

loaded = session.model_page(heading="Attention")
report = widgets.report_on_test_set(loaded)

source = st.radio("Show the attention of", [TEST, TYPED], horizontal=True, key="attention_source")
result = None
if source == TEST and report.results:
    results = report.results
    index = st.selectbox(
        "Test example",
        range(len(results)),
        format_func=lambda i: f"#{i + 1}: {' '.join(results[i].tokens)}",
        key="attention_example",
    )
    result = results[index]
    title = f"test example #{index + 1}"
else:
    if source == TEST:
        st.info("This model holds no test split: type a sentence instead.")
    sentence = st.text_input("Sentence", value=SHOWCASE_SENTENCE, key="attention_sentence")
    try:
        result = loaded.reverser.reverse(sentence)
        title = f"attention for: {' '.join(result.tokens)}"
    except InputError as problem:
        st.error(str(problem))

if result is not None:
    st.code(f"input:  {' '.join(result.tokens)}\noutput: {' '.join(result.output)}", language=None)
    widgets.heatmap(result, title, key="attention")  # says "No attention to show" for a model that has none

if result is not None and loaded.has_attention:
    st.header("Alignment metrics")
    st.caption(
        "Decoder step i of an n-word sentence should look at source word n + 1 − i: its mirror position. Entropy is "
        "low when attention is sharp."
    )
    st.dataframe(
        pd.DataFrame(
            alignment_rows(
                ("this sentence", alignment_metrics([(result.tokens, result.attention)])),
                ("test set", report.evaluation.alignment),
            )
        ),
        hide_index=True,
        key="alignment_table",
    )

st.header("How the alignment formed during training")
snapshots = loaded.checkpoint.snapshots
if not loaded.has_attention:
    st.info("This model has no attention, so no alignment formed: its context is the same at every step.")
elif not snapshots:
    st.info("This model holds no training snapshots (it was trained before they were recorded).")
else:
    moment = st.select_slider(
        "Training moment",
        options=list(range(len(snapshots))),
        value=len(snapshots) - 1,
        format_func=lambda i: snapshot_label(snapshots[i]),
        key="snapshot_moment",
    )
    watched = snapshots[moment].get("examples") or []
    which = st.radio(
        "Validation sentence",
        range(len(watched)),
        format_func=lambda i: f"sentence {i + 1} ({len(watched[i]['tokens'])} words)",
        horizontal=True,
        key="snapshot_sentence",
    )
    example = snapshot_example(snapshots[moment], which or 0)
    if example is not None:
        st.code(" ".join(example["tokens"]), language=None)
        figure = heatmap_figure(example["tokens"], example["output"], example["attention"])
        st.plotly_chart(figure, theme=None, key="snapshot_chart", width="content")
        metrics = snapshot_alignment(snapshots[moment], which or 0) or {}
        peak = metrics.get("mirror_peak_rate")
        mass = metrics.get("mirror_mass")
        st.caption(
            f"At {snapshot_label(snapshots[moment])}: the peak is on the mirror position at "
            f"{'n/a' if peak is None else f'{100 * peak:.0f}%'} of this sentence's steps, with "
            f"{'n/a' if mass is None else f'{mass:.2f}'} of the weight there."
        )
