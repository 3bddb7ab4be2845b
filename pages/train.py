"""Train: choose a corpus and hyper-parameters, start and stop a run, and watch it learn live (past runs: Runs).

Every Start joins the training queue shared by the servers on this runs folder (``training.training_pool``): a run
starts at once when a slot is free, else it waits its turn, and the page says its place and when it should start. Runs
go on in the background when this page is left, reloaded or opened in a second tab. One queued or training run per
browser session: its owner may cancel it while it waits or start it again if it was cut off. Stop stops the session's
own run, or else the run on show (anyone may stop a runaway run).
"""

import time

import pandas as pd
import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.app.database import DatabaseUnavailable
from seq2seq.app.queue_view import queue_rows, queued_text
from seq2seq.app.runs import safe_corpus_name
from seq2seq.app.settings import APP_DEFAULTS, config_from_settings
from seq2seq.app.training_queue import Entry, QueueRefused, start_estimates
from seq2seq.app.views import (
    live_metrics,
    markdown_escape,
    snapshot_label,
    status_text,
    validation_text,
    watched_index,
)
from seq2seq.app.watchers import drawn_from, live_refresh_seconds, refresh_is_off, waits
from seq2seq.app.worker import TrainingState
from seq2seq.attention import KIND_NAMES
from seq2seq.config import MAX_VALUES
from seq2seq.corpus import MAX_CORPUS_BYTES
from seq2seq.data import planned_counts
from seq2seq.metrics import percent
from seq2seq.tokenize import InputError
from ui import replay, session, training

# How often the queue (places, estimates, the table) redraws while a run trains or this session's waits: it changes
# when a run starts or ends, which redraws the whole page anyway; every watching session redrawing its table every
# second held the server's interpreter lock that a class's answers wait for.
QUEUE_SECONDS = 5.0
IDLE_POLL_SECONDS = 5.0  # how often a page with no run going on looks for one that another session started
BUILT_IN, UPLOAD = "built-in generator", "uploaded text file"
QUEUE_MESSAGE = "queue_message"  # what Cancel or Start it again did, shown once

pool = training.training_pool()  # its default corpus is generated in the background: a default Start trains at once
owner = training.session_owner()
st.title("Train a model")
st.caption(
    "Runs go on in the background on this server: switch pages or reload and it keeps training. Each run is saved "
    "in a folder of its own; the shipped default model is never overwritten. When every training slot is taken, a "
    "Start waits its turn in the queue."
)

# ------------------------------------------------------------------------------------------------- settings
defaults = APP_DEFAULTS


def whole_number(column, label: str, name: str, smallest: int = 1, **options) -> int:
    """An input for the whole-number setting ``name``: from ``smallest`` to its limit, starting at its default."""
    return int(column.number_input(label, smallest, MAX_VALUES[name], getattr(defaults, name), key=name, **options))


st.header("Corpus")
corpus_kind = st.radio("Sentences to learn from", [BUILT_IN, UPLOAD], horizontal=True, key="corpus_kind")
upload = None
if corpus_kind == BUILT_IN:
    c1, c2 = st.columns(2)
    whole_number(c1, "Training sentences", "corpus_size", smallest=30, step=1000)
    c2.slider(
        "Sentence length (words)",
        1,
        MAX_VALUES["max_length"],
        (defaults.min_length, defaults.max_length),
        key="length_range",
    )
else:
    upload = st.file_uploader(
        f"A UTF-8 text file, one sentence per line (at most {MAX_CORPUS_BYTES // 2**20} MB)",
        type=["txt"],
        key="corpus_file",
    )

st.header("Hyper-parameters")
c1, c2, c3, c4 = st.columns(4)
whole_number(c1, "Embedding size", "embedding_size")
whole_number(c2, "Hidden size", "hidden_size")
whole_number(c3, "Batch size", "batch_size")
whole_number(c4, "Epochs", "epochs")
c1, c2, c3, c4 = st.columns(4)
c1.number_input("Learning rate", 0.0, 1.0, defaults.lr, step=0.0005, format="%.4f", key="lr")
c2.slider("Teacher forcing ratio", 0.0, 1.0, defaults.teacher_forcing, 0.05, key="teacher_forcing")
c3.number_input("Gradient clip norm (0: off)", 0.0, 1000.0, defaults.clip or 0.0, step=0.5, key="clip")
c4.number_input("Seed", 0, 2**31 - 1, defaults.seed, key="seed")
with st.expander("More settings"):
    st.radio(
        "Attention",
        list(KIND_NAMES),
        index=list(KIND_NAMES).index(defaults.attention),
        format_func=KIND_NAMES.get,
        horizontal=True,
        key="attention",
    )
    c1, c2, c3, c4 = st.columns(4)
    whole_number(c1, "Attention size", "attention_size")
    whole_number(c2, "Validation sentences", "valid_size")
    whole_number(c3, "Test sentences", "test_size")
    whole_number(c4, "Validations per epoch", "evals_per_epoch")
    c1, c2, c3 = st.columns(3)
    c1.slider("Unknown-word rate", 0.0, 0.5, defaults.unk_rate, 0.01, key="unk_rate")
    c2.slider("Joined-sentence share", 0.0, 1.0, defaults.join_share, 0.05, key="join_share")
    c3.slider("Random-sequence share", 0.0, 1.0, defaults.random_extra_share, 0.05, key="random_extra_share")
    c1, c2, c3 = st.columns(3)
    c1.number_input("Stop at valid exact match (0: off)", 0.0, 1.0, 0.0, step=0.01, key="target_accuracy")
    c2.number_input("Time limit in minutes (0: off)", 0.0, 24 * 60.0, 0.0, step=1.0, key="max_minutes")
    c3.number_input(
        "Validation sentences scored each time (0: all)",
        0,
        MAX_VALUES["valid_size"],
        defaults.valid_subset,
        key="valid_subset",
    )

config, config_error = None, None
settings = dict(st.session_state)  # the widgets above are keyed by the Config field they set
if corpus_kind == UPLOAD:  # the generator's settings do not apply to a file
    settings.pop("corpus_size", None)
    settings.pop("length_range", None)
try:
    config = config_from_settings(settings, safe_corpus_name(upload.name) if upload is not None else None)
except ValueError as problem:
    config_error = str(problem)
    st.error(f"These settings cannot train: {problem}")

upload_data, upload_error = None, None
if upload is not None and config is not None:
    try:
        upload_data = training.read_upload(
            upload.getvalue(), upload.name, config.valid_size, config.test_size, config.seed
        )
    except InputError as problem:
        upload_error = markdown_escape(str(problem))  # it names the file: shown as text, never as Markdown
        st.error(f"This file cannot be used: {upload_error}")
    else:
        for name, report in upload_data.reports.items():
            summary = f"{report.summary()}; split into {upload_data.describe()}"
            st.caption(f"{markdown_escape(name)}: {markdown_escape(summary)}")
elif corpus_kind == BUILT_IN and config is not None:
    try:  # what the run will get, before Start (the corpus is generated as training will)
        st.caption(f"This run will get {planned_counts(config).text()}.")
    except InputError as problem:
        config, config_error = None, markdown_escape(str(problem))
        st.error(f"These settings cannot train: {config_error}")

# ------------------------------------------------------------------------------------------------- start / stop
c1, c2, _ = st.columns([1, 1, 4])
start = c1.button("Start training", type="primary", key="start_training", icon=":material/play_arrow:")
stop = c2.button("Stop", key="stop_training", icon=":material/stop:")
if start:
    if config is None:
        st.error(f"Not started: {config_error}")
    elif corpus_kind == UPLOAD and upload is None:
        st.error("Not started: choose a text file to upload first, or use the built-in generator.")
    elif corpus_kind == UPLOAD and upload_data is None:
        st.error(f"Not started: {upload_error}")
    else:
        try:
            if upload_data is not None:
                entry = pool.submit(owner, config, safe_corpus_name(upload.name), upload.getvalue())
            else:
                entry = pool.submit(owner, config, BUILT_IN)
        except QueueRefused as refused:
            st.warning(str(refused), icon=":material/hourglass_top:")
        except DatabaseUnavailable as problem:
            st.error(f"Not started: {problem}")
        else:
            if entry.status == "running":
                st.success(f"Started run {entry.run_name}.")
            elif entry.status == "queued":
                st.success("Queued: every training slot is taken; your run starts when its turn comes (below).")
            else:
                st.error(f"Not started: {entry.message}")
if stop:
    try:
        stopping = pool.stop(owner)
    except DatabaseUnavailable as problem:
        st.error(f"Not stopped: {problem}")
    else:
        if stopping:
            st.info("Stopping: the run finishes its batch, validates and saves its best model.")
        else:
            st.info("No training run is going on.")


# ------------------------------------------------------------------------------------------------- the queue
def my_entry() -> tuple[Entry | None, str | None]:
    """(this session's newest run in the queue, or None; None, or why the queue cannot be read)."""
    try:
        return pool.queue.latest(owner), None
    except DatabaseUnavailable as problem:
        return None, str(problem)


def cancel_mine() -> None:
    try:
        cancelled = pool.queue.cancel(owner)
    except DatabaseUnavailable as problem:
        st.session_state[QUEUE_MESSAGE] = f"Not cancelled: {problem}"
        return
    done = "Cancelled: your run left the queue." if cancelled else "Not cancelled: your run has started already."
    st.session_state[QUEUE_MESSAGE] = done


def restart_mine() -> None:
    try:
        pool.queue.restart(owner)
        pool.dispatch()
    except (QueueRefused, DatabaseUnavailable) as problem:
        st.session_state[QUEUE_MESSAGE] = f"Not started again: {problem}"


def show_queue(mine: Entry | None) -> None:
    if QUEUE_MESSAGE in st.session_state:
        st.info(st.session_state.pop(QUEUE_MESSAGE))
    try:
        board = pool.queue.board()
        estimates = start_estimates(board, len(pool.workers), pool.queue.typical_duration(), time.time())
    except DatabaseUnavailable as problem:
        st.error(f"The training queue cannot be read now: {problem}")
        return
    if mine is not None and mine.status == "queued":
        st.info(queued_text(board, mine, estimates), icon=":material/hourglass_top:")
        st.button("Cancel my queued run", key="cancel_queued", on_click=cancel_mine)
    elif mine is not None and mine.status in ("interrupted", "failed"):
        why = markdown_escape(mine.message or "")
        st.warning(f"Your run {markdown_escape(mine.run_name)} did not finish ({mine.status}: {why}).")
        st.button("Start it again", key="restart_run", on_click=restart_mine)
    if board:
        st.markdown("**Training queue**")
        st.dataframe(pd.DataFrame(queue_rows(board, owner, estimates)), hide_index=True, key="queue_table")


# ------------------------------------------------------------------------------------------------- live view
def show_run(state: TrainingState) -> None:
    if state.run_id == 0:
        st.info("No training run on this server yet: choose the settings above and press Start.")
        return
    config = state.config
    st.header(f"Run {state.run_dir.name}: {status_text(state.status, state.stop_reason)}")
    epochs_text = f"epoch {state.epoch} of {config.epochs}" if config else ""
    st.progress(
        state.fraction,
        text=f"step {state.step:,} of {state.total_steps:,} · {epochs_text} · {state.elapsed:.0f} s",
    )
    if state.error:
        st.error(f"The run failed: {state.error}")
    st.caption(f"corpus: {markdown_escape(state.corpus)}. {markdown_escape(state.data_summary)}")
    if config and state.data_summary:
        st.caption(validation_text(config))
    for column, (label, value) in zip(st.columns(4), live_metrics(state.batches, state.history), strict=True):
        column.metric(label, value)
    training.live_curves(state.run_id, state.total_steps).draw(state, key="training_curves")
    left, right = st.columns(2)
    with left:
        st.markdown("**Log**")
        st.code("\n".join(state.log[-30:]) or "(nothing yet)", language=None, wrap_lines=True)
    with right:
        st.markdown("**Attention of a fixed validation sentence, as it forms**")
        index = watched_index(state.snapshot)
        figure = (
            training.live_snapshot_figure(state.run_id, state.snapshot_count, index, state.snapshot)
            if state.snapshot
            else None
        )
        if figure is None:
            st.caption("Shown after the first validation.")
        else:
            watched = state.snapshot["examples"][index]
            st.caption(f"at {snapshot_label(state.snapshot)}, for:")
            st.code(" ".join(watched["tokens"]), language=None)
            st.plotly_chart(figure, theme=None, key="training_attention", width="content")
    if state.status == "finished" and state.checkpoint_path and state.checkpoint_path.is_file():
        if state.test_metrics:
            test = state.test_metrics
            st.success(f"Test exact match {percent(test['exact_match'])} ({test['correct']:,}/{test['total']:,}).")
        if str(session.active_model_path()) == str(state.checkpoint_path):
            st.success("This run's model is your active model.", icon=":material/check_circle:")
        elif st.button("Make this run the active model", type="primary", key="activate_latest"):
            session.set_active_model(state.checkpoint_path)
            st.rerun()


mine, _ = my_entry()  # a queue that cannot be read is said once, in the queue section
initial = pool.view(mine, max_points=0)
st.session_state["drawn_from"] = drawn_from(initial.active, mine)
# The more sessions watch the live view, the less often each redraws it (``watchers``): set as the page is drawn, and
# drawn again when the number watching calls for another rate.
refresh = live_refresh_seconds(training.watchers().saw(owner, time.monotonic()))


def redraw_if_the_page_changed(state: TrainingState, entry: Entry | None) -> None:
    """Since the page was drawn, what it is drawn from changed (``drawn_from``): a run started where none trained, the
    last one ended, or this session's run was started, began training or left the queue (here or in another
    session): redraw the whole page (run list, sidebar, refresh rate)."""
    if st.session_state.get("drawn_from") != drawn_from(state.active, entry):
        st.rerun()


@st.fragment(run_every=QUEUE_SECONDS if initial.active or waits(mine) else None)
def queue_section() -> None:
    entry, _ = my_entry()
    redraw_if_the_page_changed(pool.view(entry, max_points=0), entry)  # Cancel: the page says so, redrawn
    show_queue(entry)


@st.fragment(run_every=refresh if initial.active or waits(mine) else None)
def live_view() -> None:
    entry, _ = my_entry()
    state = pool.view(entry)
    redraw_if_the_page_changed(state, entry)
    show_run(state)
    if refresh_is_off(refresh, training.watchers().saw(owner, time.monotonic())):  # after a click was taken in
        st.rerun()


@st.fragment(run_every=IDLE_POLL_SECONDS)
def watch_for_a_run() -> None:
    """With no run going on, look now and then for one another session starts; draws nothing."""
    entry, _ = my_entry()
    redraw_if_the_page_changed(pool.view(entry, max_points=0), entry)


st.divider()
queue_section()
live_view()
if not (initial.active or waits(mine)):
    watch_for_a_run()
st.divider()
replay.replay_section(pool)
