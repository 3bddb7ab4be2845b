"""This browser session's active model and the sidebar that shows it (drawn once per run by ``streamlit_app.py``),
and the start of a page that shows the active model (``model_page``).

Every computation lives in ``seq2seq/``; the ``ui`` package only lays out widgets. User and model text is shown through
widgets that print text as text (``st.text``, code blocks, tables, Plotly labels escaped by ``seq2seq.plots``) or is
escaped with ``markdown_escape`` first; nothing in it uses ``unsafe_allow_html``.
"""

import sys
from pathlib import Path

# Imported here, on the script thread, before any page or fragment runs: a first import of these inside a fragment's
# thread can race another session's import of the same module.
import pandas as pd  # noqa: F401
import plotly.graph_objects  # noqa: F401
import streamlit as st
import torch

from seq2seq.app.models import LoadedModel, ModelCache, missing_model_notice, model_options
from seq2seq.app.views import markdown_escape, status_text
from seq2seq.checkpoint import CheckpointError
from seq2seq.metrics import percent
from seq2seq.paths import default_checkpoint_path
from ui import links
from ui.training import training_pool

# Decoding one sentence is about 40 small tensor operations: a second intra-op thread only adds hand-offs, which on a
# busy machine turned a 2 ms reversal into a 100 ms one. Set here, on a script thread, it holds for the threads
# started after it (script runs, fragments), as in the command line and the trainer.
torch.set_num_threads(1)
# Every session's script runs on a thread of this one process, and a reversal gives the interpreter lock up around
# each of its tensor operations: to get it back it waits until a busy session's thread is made to let go, after
# Python's default of 5 ms. With three sessions busy (a page opening, a live view), a 7 ms reversal then took about
# 95 ms (400 ms at worst); switching every millisecond, about 28 ms. Process-wide, set once per server.
SWITCH_INTERVAL_S = 0.001
sys.setswitchinterval(SWITCH_INTERVAL_S)

MODEL_KEY = "active_model_path"
NOTICE_KEY = "active_model_notice"  # why this session's chosen model was dropped, shown once in the sidebar
PICKER_KEY = "model_picker"
TRAIN_PAGE = "pages/train.py"  # where a session without a model is sent


@st.cache_resource(show_spinner=False)
def model_cache() -> ModelCache:
    """Models loaded once per checkpoint file, shared by every session of this server."""
    return ModelCache()


# ------------------------------------------------------------------------------------------------- active model
def active_model_path() -> Path:
    """This browser session's model: a run it chose, else the shipped default (also when the chosen file is gone; the
    sidebar says so once). Other sessions are not affected."""
    chosen = st.session_state.get(MODEL_KEY)
    notice = missing_model_notice(chosen)
    if notice:
        set_active_model(None)
        st.session_state[NOTICE_KEY], chosen = notice, None
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


def sidebar() -> None:
    """The sidebar below the page menu: this session's active model, the way to change it, and the server's training
    run, if one is going on."""
    model, _ = load_active_model()
    with st.sidebar:
        st.markdown("**Active model**")
        if NOTICE_KEY in st.session_state:
            st.info(markdown_escape(st.session_state.pop(NOTICE_KEY)))
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
        state = training_pool().state()
        # In a popover: a select box's script is loaded by the browser when it first draws one, and on a first view
        # that load delayed Try it's text box (docs/speed.md); a popover draws its contents when it is opened.
        with st.popover("Change model", icon=":material/swap_horiz:", width="stretch"):
            _model_picker(training_pool().live_run_dirs())
        if st.session_state.get(MODEL_KEY):
            st.button("Use the shipped default", key="use_default_model", on_click=set_active_model, args=(None,))
        if state.active:
            st.divider()
            st.caption(f"Training on this server: {status_text(state.status)}, {percent(state.fraction)} done.")


def _model_picker(live_run_dirs: list[Path]) -> None:
    """Pick any shipped model or finished run as this session's model."""
    options = model_options(live_run_dirs)
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


def model_page(heading: str | None = None, intro: str | None = None, link: bool = True) -> LoadedModel:
    """Start a page that shows the active model: its heading and intro, then the model. Without one, the page says
    why and stops there. With ``link``, the notes on a link's ignored parameters are shown (the frame made its model
    the active one) and the model shown is written into the URL, so a copied link reopens it (a page whose link
    carries more, like the Decoder's, does both itself)."""
    notes = links.apply_link() if link else []
    model, error = load_active_model()
    if heading:
        st.title(heading)
    if intro:
        st.markdown(intro)
    links.show_link_notes(notes)
    loaded = require_model(model, error)
    if link:
        links.keep_link(None)
    return loaded


def require_model(model: LoadedModel | None, error: str | None) -> LoadedModel:
    """The active model under its caption, or a clear message (never a traceback) and the way to train one; stops
    the page when there is none."""
    loaded = _require_model(model, error)
    _active_model_caption(loaded)
    return loaded


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
        st.page_link(TRAIN_PAGE, label="Train a model", icon=":material/model_training:")
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
