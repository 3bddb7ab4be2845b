"""Analysis: the four questions about attention, answered with numbers computed live from the active model."""

import pandas as pd
import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

import app_ui
from seq2seq.analysis import analysis_markdown
from seq2seq.app.runs import ablation_path, load_ablation
from seq2seq.app.views import ablation_table, markdown_escape
from seq2seq.report import SHOWCASE_SENTENCE

loaded = app_ui.model_page("Analysis")
report = app_ui.report_on_test_set(loaded)
ablation, ablation_error = load_ablation()

if report.evaluation.total == 0:
    st.title("Analysis")
    st.info("This model holds no test split, so its analysis cannot be computed.")
    st.stop()

left, right = st.columns([3, 2])
with left:
    st.markdown(analysis_markdown(loaded.reverser, report, ablation))
with right:
    showcase = loaded.reverser.reverse(SHOWCASE_SENTENCE)
    st.markdown(f"**Attention for “{SHOWCASE_SENTENCE}”**")
    app_ui.heatmap(showcase, f"attention for: {SHOWCASE_SENTENCE}", key="analysis")

st.subheader("Ablation")
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
