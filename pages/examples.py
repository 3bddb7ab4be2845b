"""Examples: the active model on its test set, as a filterable table, with per-length accuracy and heatmaps."""

import pandas as pd
import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.app.views import (
    FAILURE_FILTERS,
    MATCH_FILTERS,
    example_rows,
    failure_filter_label,
    filter_rows,
    filtered_accuracy,
)
from seq2seq.evaluation import pick_examples
from seq2seq.failures import failures_text
from seq2seq.metrics import format_example, percent
from seq2seq.plots import failures_figure, per_length_figure
from ui import session, widgets

loaded = session.model_page(heading="Test-set examples")
report = widgets.report_on_test_set(loaded)
results, evaluation = report.results, report.evaluation
if not results:
    st.info("This model holds no test split, so there is nothing to show here.")
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("exact match", percent(evaluation.exact_match), help="share of test sentences reversed exactly")
c2.metric("token accuracy", percent(evaluation.token_accuracy), help="share of output positions that are right")
c3.metric("test sentences", f"{evaluation.total:,}")
st.plotly_chart(per_length_figure(evaluation.per_length), theme=None, key="per_length_chart")
st.markdown(failures_text(evaluation.failures, evaluation.total))
if evaluation.correct < evaluation.total:
    st.plotly_chart(failures_figure(evaluation.per_length), theme=None, key="failures_chart")

st.header("All test sentences")
rows = example_rows(results, loaded.has_attention)
lengths = sorted({row["length"] for row in rows})
c1, c2, c3 = st.columns([1, 1, 2])
match = c1.radio("Show", MATCH_FILTERS, horizontal=True, key="match_filter")
failure = c2.selectbox(
    "Failure",
    FAILURE_FILTERS,
    format_func=lambda label: failure_filter_label(label, evaluation.failures),
    key="failure_filter",
    help="Each wrong decode is named by the first thing that went wrong (seq2seq/failures.py)",
)
if lengths[0] < lengths[-1]:
    length_range = c3.slider("Source length", lengths[0], lengths[-1], (lengths[0], lengths[-1]), key="length_filter")
else:
    length_range = (lengths[0], lengths[-1])
shown = filter_rows(rows, match, length_range, failure)
accuracy, correct, total = filtered_accuracy(shown)
st.caption(f"{total:,} of {len(rows):,} sentences shown; exact match among them: {percent(accuracy)} ({correct:,}).")
event = st.dataframe(
    pd.DataFrame(shown, columns=["#", "input", "output", "reference", "length", "match", "failure"]),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="examples_table",
    column_config={
        "#": st.column_config.NumberColumn("#", width="small"),
        "input": st.column_config.TextColumn("input", width="medium"),
        "output": st.column_config.TextColumn("output", width="medium"),
        "reference": st.column_config.TextColumn("reference", width="medium"),
        "length": st.column_config.NumberColumn("length", width="small"),
        "match": st.column_config.CheckboxColumn("match", width="small"),
        "failure": st.column_config.TextColumn("failure", width="small"),
    },
)

selected = list(event.selection.rows) if event is not None else []
if shown:
    row = shown[selected[0]] if selected and selected[0] < len(shown) else shown[0]
    result = results[row["#"] - 1]
    st.header(f"Example #{row['#']}")
    st.caption("Pick a row in the table to see its heatmap." if not selected else "The row picked in the table.")
    st.code(format_example(result), language=None)
    widgets.heatmap(result, f"test example #{row['#']}", key="example")

st.header("A dozen examples")
st.caption("Spread over the lengths, with any mismatches first so that errors are never hidden.")
columns = st.columns(3)
for i, example in enumerate(pick_examples(results, 12)):
    columns[i % 3].code(format_example(example), language=None, wrap_lines=True)
