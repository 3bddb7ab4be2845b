"""Streamlit glue shared by the app's pages: the sidebar, this browser session's active model, the server's trainer.

Every computation lives in ``seq2seq/``; this module only lays out widgets. User and model text is shown through
widgets that print text as text (code blocks, tables, Plotly labels escaped by ``seq2seq.plots``) or is escaped
with ``markdown_escape`` first; nothing here uses ``unsafe_allow_html``.
"""

from pathlib import Path

# Imported here, on the script thread, before any fragment runs: a first import of these inside a fragment's thread
# can race another session's import of the same module.
import pandas as pd  # noqa: F401
import plotly.graph_objects  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.app.models import LoadedModel, ModelCache, model_options
from seq2seq.app.runs import upload_run_data
from seq2seq.app.views import markdown_escape, percent, result_figure, snapshot_figure, status_text, training_figure
from seq2seq.app.worker import TrainingState, TrainingWorker
from seq2seq.checkpoint import CheckpointError
from seq2seq.config import Config
from seq2seq.data import RunData
from seq2seq.inference import Reversal
from seq2seq.paths import default_checkpoint_path
from seq2seq.plots import heatmap_png
from seq2seq.report import TestReport

MODEL_KEY = "active_model_path"
PAGES = [
    ("streamlit_app.py", "Try it", ":material/translate:"),
    ("pages/1_Train.py", "Train", ":material/model_training:"),
    ("pages/2_Examples.py", "Examples", ":material/table_rows:"),
    ("pages/3_Attention.py", "Attention", ":material/grid_on:"),
    ("pages/4_Analysis.py", "Analysis", ":material/insights:"),
    ("pages/5_Compare.py", "Compare", ":material/compare:"),
]
PICKER_KEY = "model_picker"


@st.cache_resource(show_spinner=False)
def model_cache() -> ModelCache:
    """Models loaded once per checkpoint file, shared by every session of this server."""
    return ModelCache()


@st.cache_resource(show_spinner=False)
def training_worker() -> TrainingWorker:
    """The server's one trainer: every session and tab reads it, and it goes on when a page is left or reloaded."""
    return TrainingWorker()


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=2, ttl=3600)
def read_upload(data: bytes, name: str, valid_size: int, test_size: int, seed: int) -> RunData:
    """An uploaded corpus split for training, read once per file and split settings (not on every rerun).

    Raises InputError (never cached) for a file that cannot be used."""
    return upload_run_data(Config(valid_size=valid_size, test_size=test_size, seed=seed), data, name)


# The live view of a run redraws every second in every session that watches it, and building its figures takes about
# a tenth of a second of CPU, under the GIL the training thread needs too. So they are built once per moment of the
# run and shared by every session watching it (Streamlit only reads them).
@st.cache_resource(show_spinner=False, max_entries=4)
def live_training_figure(
    run_id: int, step: int, evaluations: int, _state: TrainingState
) -> plotly.graph_objects.Figure:
    """The live curves of run ``run_id`` after ``step`` steps and ``evaluations`` validations."""
    return training_figure(_state.batches, _state.history, _state.total_steps)


@st.cache_resource(show_spinner=False, max_entries=4)
def live_snapshot_figure(
    run_id: int, snapshots: int, index: int, _snapshot: dict
) -> plotly.graph_objects.Figure | None:
    """The heatmap of watched sentence ``index`` in the latest of ``snapshots`` snapshots of run ``run_id``."""
    return snapshot_figure(_snapshot, index)


# ------------------------------------------------------------------------------------------------- active model
def active_model_path() -> Path:
    """This browser session's model: a run it chose, else the shipped default. Other sessions are not affected."""
    chosen = st.session_state.get(MODEL_KEY)
    return Path(chosen) if chosen else default_checkpoint_path()


def set_active_model(path: str | Path | None) -> None:
    st.session_state[MODEL_KEY] = str(path) if path else None


def load_active_model() -> tuple[LoadedModel | None, str | None]:
    """(the active model, None) or (None, the one-line reason it cannot be loaded). A model file that turned bad
    after it loaded keeps being served, and the sidebar says why (``ModelCache.problem``)."""
    try:
        return model_cache().get(active_model_path()), None
    except CheckpointError as error:
        return None, str(error)


def setup_page(title: str) -> tuple[LoadedModel | None, str | None]:
    """Page config and sidebar; returns the active model or why there is none."""
    # An emoji icon is drawn by the browser; a ":material/...:" one would be fetched from fonts.gstatic.com.
    st.set_page_config(page_title=f"{title} · Seq2Seq reverser", page_icon="🔁", layout="wide")
    model, error = load_active_model()
    _sidebar(model, error)
    return model, error


def _sidebar(model: LoadedModel | None, error: str | None) -> None:
    with st.sidebar:
        st.markdown("### Seq2Seq word-order reverser")
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
        st.markdown("**Active model**")
        if model is not None:
            st.markdown(markdown_escape(model.label))
            st.caption(f"{markdown_escape(model.kind_name)} · {markdown_escape(model.accuracy_text())}")
            problem = model_cache().problem(active_model_path())
            if problem:
                st.warning(
                    f"Its file cannot be used now ({markdown_escape(problem)}); the version loaded earlier is "
                    "still served."
                )
        else:
            st.error("No model loaded.")
        state = training_worker().state(max_points=0)
        _model_picker(state.run_dir if state.active else None)
        if st.session_state.get(MODEL_KEY):
            st.button("Use the shipped default", key="use_default_model", on_click=set_active_model, args=(None,))
        if state.active:
            st.divider()
            st.caption(f"Training on this server: {status_text(state.status)}, {percent(state.fraction)} done.")


def _model_picker(live_run_dir: Path | None) -> None:
    """Pick any shipped model or finished run as this session's model."""
    options = model_options(live_run_dir)
    active = str(active_model_path())
    options.setdefault(active, active)  # a chosen model that is no longer listed stays shown
    st.session_state[PICKER_KEY] = active  # follow choices made elsewhere (the Train page, a fallback)
    st.selectbox(
        "Model",
        list(options),
        format_func=options.get,
        key=PICKER_KEY,
        on_change=_picked,
        help="Shipped models (artifacts/) and the runs trained here. Your choice holds for this browser session.",
    )


def _picked() -> None:
    chosen = st.session_state[PICKER_KEY]
    set_active_model(None if chosen == str(default_checkpoint_path()) else chosen)


def model_page(title: str, heading: str | None = None, intro: str | None = None) -> LoadedModel:
    """Set up a page that shows the active model: its config, sidebar, heading and intro, then the model. Without
    one, the page says why and stops there."""
    model, error = setup_page(title)
    if heading:
        st.title(heading)
    if intro:
        st.markdown(intro)
    loaded = _require_model(model, error)
    _active_model_caption(loaded)
    return loaded


def report_on_test_set(model: LoadedModel) -> TestReport:
    """The model's test-set report (computed once per model and cached by it), with a spinner the first time."""
    with st.spinner("Reversing the test set…"):
        return model.test_report()


def _require_model(model: LoadedModel | None, error: str | None) -> LoadedModel:
    """The active model, or a clear message (never a traceback) and the way to train one; stops the page."""
    if model is None:
        active = active_model_path()
        if active == default_checkpoint_path():
            st.error(f"The default model cannot be loaded: {error}")
            st.info(
                "Train a model on the Train page (a few minutes on a CPU), or run "
                "`python -m seq2seq train --out artifacts/runs/first` and point `SEQ2SEQ_CHECKPOINT` at its model.pt."
            )
        else:
            st.error(f"The chosen model cannot be loaded: {error}")
            st.button("Use the shipped default", key="fallback_default_model", on_click=set_active_model, args=(None,))
        st.page_link("pages/1_Train.py", label="Train a model", icon=":material/model_training:")
        st.stop()
    return model


def _active_model_caption(model: LoadedModel) -> None:
    st.caption(
        f"Active model: {markdown_escape(model.label)}, **{markdown_escape(model.kind_name)}** · "
        f"{markdown_escape(model.accuracy_text())}. {markdown_escape(model.kind_text)}"
    )
    if not model.has_attention:
        st.warning(
            "This model has no attention: no heatmap is drawn for it, and its training snapshots show only the fixed "
            "weights that make its context (one-hot on the end of the input for the encoder–decoder, uniform for the "
            "mean).",
            icon=":material/info:",
        )


# ------------------------------------------------------------------------------------------------- heatmaps
def heatmap(result: Reversal, title: str, key: str, file_name: str = "attention_heatmap.png") -> None:
    """The hover-able attention heatmap of one result, and a button that downloads it as a PNG (drawn on click).

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
    st.plotly_chart(result_figure(result), theme=None, key=f"{key}_chart", width="content")
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
