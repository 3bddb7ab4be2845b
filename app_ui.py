"""Streamlit glue shared by the app's pages: the sidebar, this browser session's active model, the server's trainer,
and the warm-up the server runs before it answers (``warm_up``).

Every computation lives in ``seq2seq/``; this module only lays out widgets. User and model text is shown through
widgets that print text as text (``st.text``, code blocks, tables, Plotly labels escaped by ``seq2seq.plots``) or is
escaped with ``markdown_escape`` first; nothing here uses ``unsafe_allow_html``.
"""

import importlib
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

# Imported here, on the script thread, before any fragment runs: a first import of these inside a fragment's thread
# can race another session's import of the same module.
import pandas as pd  # noqa: F401
import plotly.graph_objects  # noqa: F401
import streamlit as st
import torch

import app_shell
from seq2seq.app.links import link_params, parse_link
from seq2seq.app.models import LoadedModel, ModelCache, missing_model_notice, model_options
from seq2seq.app.runs import upload_run_data
from seq2seq.app.views import markdown_escape, snapshot_example, status_text
from seq2seq.app.worker import TrainingState, TrainingWorker
from seq2seq.checkpoint import CheckpointError
from seq2seq.config import Config
from seq2seq.data import RunData, load_run_data
from seq2seq.inference import Reversal
from seq2seq.metrics import percent
from seq2seq.paths import default_checkpoint_path
from seq2seq.plots import heatmap_figure, heatmap_png, training_figure, training_series
from seq2seq.records import Snapshot
from seq2seq.report import TestReport

# Decoding one sentence is about 40 small tensor operations: a second intra-op thread only adds hand-offs, which on a
# busy machine turned a 2 ms reversal into a 100 ms one. Set here, on a script thread, it holds for the threads
# started after it (script runs, fragments), as in the command line and the trainer.
torch.set_num_threads(1)

MODEL_KEY = "active_model_path"
NOTICE_KEY = "active_model_notice"  # why this session's chosen model was dropped, shown once in the sidebar
PAGES = [
    ("try_it.py", "Try it", ":material/translate:"),
    ("pages/1_Train.py", "Train", ":material/model_training:"),
    ("pages/7_Runs.py", "Runs", ":material/folder_open:"),
    ("pages/2_Examples.py", "Examples", ":material/table_rows:"),
    ("pages/3_Attention.py", "Attention", ":material/grid_on:"),
    ("pages/4_Analysis.py", "Analysis", ":material/insights:"),
    ("pages/5_Compare.py", "Compare", ":material/compare:"),
    ("pages/6_Decoder.py", "Decoder", ":material/step_over:"),
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


@st.cache_resource(show_spinner="Reading the corpus…", max_entries=2, ttl=600)
def read_upload(data: bytes, name: str, valid_size: int, test_size: int, seed: int) -> RunData:
    """An uploaded corpus split for training, read once per file and split settings (not on every rerun).

    A 50 MB upload of short lines parses into about 1 GB of Python lists, so at most two are kept, and one unused for
    10 minutes is dropped at the next upload's read. Raises InputError (never cached) for a file that cannot be used."""
    return upload_run_data(Config(valid_size=valid_size, test_size=test_size, seed=seed), data, name)


CORPUS_FIELDS = ("corpus_size", "min_length", "max_length", "random_share", "valid_size", "test_size", "seed")


@st.cache_resource(show_spinner=False)
def default_corpus() -> Future:
    """The built-in corpus of the default settings, generated once per server on a background thread (pure Python)
    when the server warms up, or else on the first view of the Train page, so that a Start with the defaults trains
    at once."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seq2seq-corpus")
    future = pool.submit(load_run_data, Config())
    pool.shutdown(wait=False)  # its thread finishes this one job, then ends
    return future


def prepared_corpus(config: Config) -> RunData | None:
    """The default corpus, ready or nearly (waits for it), when ``config`` asks for it; else None (the worker then
    generates the corpus itself)."""
    defaults = Config()
    if any(getattr(config, name) != getattr(defaults, name) for name in CORPUS_FIELDS) or config.train_file:
        return None
    future = default_corpus()
    with st.spinner("Generating the corpus…"):
        wait([future])
    # A generation that failed is left to the worker, which reports a failure as a failed run.
    return None if future.exception() else future.result()


class LiveCurves:
    """The live curves of one run, shared by every session that watches it.

    The live view redraws every second in every watching session, and building the figure takes about a tenth of a
    second of CPU under the GIL that the training thread needs too. So one figure is built per run, and a redraw at a
    new moment of the run only moves its data (about a millisecond); the lock keeps one session from moving the data
    while another draws it.
    """

    def __init__(self, total_steps: int) -> None:
        self.figure = training_figure([], [], total_steps)
        self.moment: tuple[int, int] | None = None
        self.lock = threading.Lock()

    def draw(self, state: TrainingState, key: str) -> None:
        with self.lock:
            moment = (state.step, len(state.history))
            if moment != self.moment:
                series = training_series(state.batches, state.history)
                with self.figure.batch_update():
                    for trace, (x, y) in zip(self.figure.data, series, strict=True):
                        trace.x, trace.y = x, y
                self.moment = moment
            st.plotly_chart(self.figure, theme=None, key=key)


@st.cache_resource(show_spinner=False, max_entries=4)
def live_curves(run_id: int, total_steps: int) -> LiveCurves:
    """The shared live curves of run ``run_id`` (a new figure once its number of steps is known)."""
    return LiveCurves(total_steps)


@st.cache_resource(show_spinner=False, max_entries=4)
def live_snapshot_figure(
    run_id: int, snapshots: int, index: int, _snapshot: Snapshot
) -> plotly.graph_objects.Figure | None:
    """The heatmap of watched sentence ``index`` in the latest of ``snapshots`` snapshots of run ``run_id``."""
    example = snapshot_example(_snapshot, index)
    return None if example is None else heatmap_figure(example["tokens"], example["output"], example["attention"])


@dataclass(frozen=True)
class TypedSentence:
    """A typed sentence through one model, with its heatmap. ``model`` is held so that its ``id``, part of the cache
    key below, cannot be reused by another model while the entry lives."""

    model: LoadedModel
    result: Reversal
    figure: plotly.graph_objects.Figure


# An entry (the figure, mostly) holds about 130 KB: with 256 of them the soak saw the server's memory climb 35 MB over
# its traffic before the cache was full. 64 keep the example sentences and recent inputs of every session.
@st.cache_resource(show_spinner=False, max_entries=64)
def typed_sentence(model_id: int, sentence: str, _model: LoadedModel) -> TypedSentence:
    """``sentence`` through the model ``model_id`` (``id`` of a LoadedModel) and its heatmap, made once per model and
    sentence for every session: an Enter on a sentence seen before costs no decoding and no figure building.

    Raises InputError (never cached) for an empty or over-long sentence."""
    result = _model.reverser.reverse(sentence)
    return TypedSentence(_model, result, heatmap_figure(result.tokens, result.output, result.attention))


def warm_up() -> dict[str, float]:
    """Make what a first visit needs, once per server before it answers; returns the seconds each step took.

    The default model is loaded and its example sentences reversed and drawn (a first reversal, or an example button,
    then costs no load or figure building); the default corpus is generated and what an optimizer imports is imported
    (a Start with the defaults trains at once). A default model that cannot be loaded is left to the pages, which say
    why."""
    steps = {
        "torch._dynamo (imported by an optimizer's constructor)": lambda: importlib.import_module("torch._dynamo"),
        "emoji pattern (a page's first set_page_config)": lambda: importlib.import_module("streamlit.emojis"),
        "default corpus": lambda: default_corpus().result(),
        "default model and its examples": _warm_default_model,
    }
    took = {}
    for name, step in steps.items():
        started = time.perf_counter()
        step()
        took[name] = time.perf_counter() - started
    return took


def _warm_default_model() -> None:
    try:
        model = model_cache().get(default_checkpoint_path())
    except CheckpointError:
        return
    for sentence in model.example_sentences():
        typed_sentence(id(model), sentence, model)


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


def setup_page(title: str) -> tuple[LoadedModel | None, str | None]:
    """Page config and sidebar; returns the active model or why there is none."""
    app_shell.page_config(title)
    return sidebar_with_model()


def sidebar_with_model() -> tuple[LoadedModel | None, str | None]:
    """Load this session's active model and draw the sidebar; returns the model or why there is none."""
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
        state = training_worker().state(max_points=0)
        # In a popover: a select box's script is loaded by the browser when it first draws one, and on a first view
        # that load delayed Try it's text box (README, Speed); a popover draws its contents when it is opened.
        with st.popover("Change model", icon=":material/swap_horiz:", width="stretch"):
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


def model_page(title: str, heading: str | None = None, intro: str | None = None, link: bool = True) -> LoadedModel:
    """Set up a page that shows the active model: its config, sidebar, heading and intro, then the model. Without
    one, the page says why and stops there. With ``link``, a link's ``model=`` is applied on the session's first
    view of the page and the model shown is written into the URL, so a copied link reopens it (a page whose link
    carries more, like the Decoder's, does both itself)."""
    notes = apply_link() if link and app_shell.link_to_open(title) else []
    model, error = setup_page(title)
    if heading:
        st.title(heading)
    if intro:
        st.markdown(intro)
    show_link_notes(notes)
    loaded = require_model(model, error)
    if link:
        keep_link(None)
    return loaded


def require_model(model: LoadedModel | None, error: str | None) -> LoadedModel:
    """The active model under its caption, or a clear message (never a traceback) and the way to train one; stops
    the page when there is none."""
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


# ------------------------------------------------------------------------------------------------- links
def apply_link(sentence_key: str | None = None, step_key: str | None = None) -> list[str]:
    """Apply the URL's link (``?sentence=...&step=...&model=...``; a page asks ``app_shell.link_to_open`` first): the
    model becomes the session's active one (never a run still training: the picker's rule) and the widgets start
    from the link. Returns the notes on ignored parameters."""
    state = training_worker().state(max_points=0)
    reads = ["model", *(["sentence"] if sentence_key else []), *(["step"] if step_key else [])]
    link = parse_link(st.query_params.to_dict(), live_run_dir=state.run_dir if state.active else None, reads=reads)
    if link.model is not None:
        set_active_model(None if link.model == default_checkpoint_path() else link.model)
    if sentence_key and link.sentence is not None:
        st.session_state[sentence_key] = link.sentence
    if step_key and link.step is not None:
        st.session_state[step_key] = link.step
    return link.notes


def keep_link(sentence: str | None, step: int | None = None) -> None:
    """Write this view's state, the active model's name included, into the URL, so a copied link reopens it (only
    when it changed)."""
    params = link_params(sentence, step, active_model_path())
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def show_link_notes(notes: list[str]) -> None:
    for note in notes:
        st.info(markdown_escape(note), icon=":material/link_off:")


# ------------------------------------------------------------------------------------------------- answers
def words_box(words: list[str], key: str) -> None:
    """A reversal's words shown as they are (``st.text`` parses no Markdown or HTML), in a box. Not ``st.code``: its
    syntax highlighter is a 1.5 MB script that a browser fetches and parses for the first code block it shows, which
    held a first answer back (README, Speed)."""
    with st.container(border=True, key=key):
        st.text(" ".join(words))


# ------------------------------------------------------------------------------------------------- heatmaps
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
