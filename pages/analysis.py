"""Analysis: the four questions about attention, answered with numbers computed live from the active model."""

import pandas as pd
import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.ablate import terms_of
from seq2seq.analysis import analysis_markdown
from seq2seq.app.runs import ablation_path, load_ablation
from seq2seq.app.views import ablation_rows, ablation_table, ablation_text, markdown_escape, terms_note
from seq2seq.attention import TERM_NAMES
from seq2seq.evaluation import SHOWCASE_SENTENCE
from seq2seq.paper_figure import failures_per_length, findings, load_paper_figure, paper_figure_path, series
from seq2seq.plots import failures_figure, paper_figure
from ui import session, widgets

loaded = session.model_page()
report = widgets.report_on_test_set(loaded)
ablation, ablation_error = load_ablation()

if report.evaluation.total == 0:
    st.title("Analysis")
    st.info("This model holds no test split, so its analysis cannot be computed.")
    st.stop()

left, right = st.columns([3, 2])
with left:
    st.markdown(analysis_markdown(loaded.reverser, report, ablation, live=True))
with right:
    showcase = loaded.reverser.reverse(SHOWCASE_SENTENCE)
    st.markdown(f"**Attention for “{SHOWCASE_SENTENCE}”**")
    widgets.heatmap(showcase, f"attention for: {SHOWCASE_SENTENCE}", key="analysis")

evaluation = report.evaluation
st.header("How it fails, by length")
if evaluation.correct < evaluation.total:
    st.plotly_chart(failures_figure(evaluation.per_length), theme=None, key="failures_chart")
else:
    st.caption("Every test sentence is reversed exactly: there is no failure to chart.")

st.header("Switch one term of the attention off")
terms = terms_of(loaded.reverser)
st.caption(terms_note(loaded.kind_name, terms))
if terms:
    term = st.radio(
        "Switch off, and decode the whole test split again",
        terms,
        index=None,
        format_func=TERM_NAMES.__getitem__,
        key="ablate_term",
    )
    if term is not None:
        with st.spinner("Reversing the test set without that term…"):
            ablated = loaded.ablation_report(term).evaluation
        st.markdown(markdown_escape(ablation_text(term, evaluation, ablated)))
        st.dataframe(pd.DataFrame(ablation_rows(evaluation, ablated, term)), hide_index=True, key="term_ablation")
        if ablated.correct < ablated.total:
            title = f"Wrong decodes by length, by failure, with the {term} term off"
            st.plotly_chart(failures_figure(ablated.per_length, title), theme=None, key="term_ablation_chart")

st.header("Ablation")
if ablation is not None:
    seeds = markdown_escape(str(ablation.get("seeds", "several")))
    st.caption(
        f"From {ablation_path().name} (`python benchmarks/ablation.py`): the default model and variants that each "
        f"take one idea away, trained alike; mean ± standard deviation over {seeds} seeds."
    )
    st.dataframe(pd.DataFrame(ablation_table(ablation)), hide_index=True, key="ablation_table")
elif ablation_error:
    st.warning(f"The ablation results cannot be shown: {ablation_error}")
else:
    st.caption("No ablation results yet (`python benchmarks/ablation.py` writes artifacts/ablation.json).")

st.header("Why attention: the paper's Figure 2, on reversal")
figure_data, figure_error = load_paper_figure()
if figure_data is not None:
    st.caption(
        f"From {paper_figure_path().name} ({markdown_escape(figure_data.get('command', ''))}): each model trained "
        f"with {figure_data.get('updates', 0):,} updates on sentences up to the cap (dotted: the short cap, solid: "
        "the long one; dashed lines mark the caps), scored on fresh sentences of every length. The line is the mean "
        "over seeds, the band their range; hover a point for its value."
    )
    metric = st.radio(
        "Score", ["exact_match_per_length", "token_accuracy_per_length"], horizontal=True, key="figure_metric",
        format_func=lambda m: "exact match" if m.startswith("exact") else "token accuracy",
    )  # fmt: skip
    st.plotly_chart(paper_figure(figure_data, metric), theme=None, key="paper_figure", width="stretch")
    drawn = {
        line.label: rows
        for line in series(figure_data)
        if (rows := failures_per_length(figure_data, line.attention, line.max_train_length))
    }
    if drawn:
        picked = st.selectbox("How one of its models fails, by length", list(drawn), key="figure_failures_model")
        title = f"Wrong decodes by length, summed over the seeds: {picked}"
        st.plotly_chart(failures_figure(drawn[picked], title), theme=None, key="figure_failures_chart")
    else:
        st.caption("This figure's runs were scored without failure labels (the benchmark records them per run).")
    st.markdown("**The paper's findings, checked against these numbers**")
    for finding in findings(figure_data):
        verdict = "holds" if finding.holds else "does **not** hold here"
        st.markdown(f"- {markdown_escape(finding.claim)} — {verdict}: {markdown_escape(finding.measured)}.")
elif figure_error:
    st.warning(f"The figure cannot be shown: {markdown_escape(figure_error)}")
else:
    st.caption("No figure yet (`python benchmarks/paper_figure.py` writes artifacts/paper_figure.json).")
