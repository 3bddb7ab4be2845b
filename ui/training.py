"""The server's training slots and what the Train page draws from them: the queue they are fed from, the key a
browser session's runs are queued under, the corpus a Start with the defaults uses (made once per server, in the
background), uploaded corpora, and the live curves, snapshot heatmaps and count of watching sessions every watching
session shares."""

import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait

import plotly.graph_objects
import streamlit as st

from seq2seq.app.dispatch import TrainingPool, server_pool
from seq2seq.app.runs import upload_run_data
from seq2seq.app.views import snapshot_example
from seq2seq.app.watchers import Watchers
from seq2seq.app.worker import TrainingState
from seq2seq.config import Config
from seq2seq.data import RunData, load_run_data
from seq2seq.plots import heatmap_figure, training_figure, training_series
from seq2seq.records import Snapshot

OWNER_KEY = "training_owner"


@st.cache_resource(show_spinner=False)
def training_pool() -> TrainingPool:
    """The server's training slots, fed from the shared queue: every session and tab reads them, and a run goes on
    when a page is left or reloaded."""
    future = default_corpus()  # taken here, on a script thread: the pool's rounds run on a thread of their own
    return server_pool(lambda config: prepared_corpus(config, future))


@st.cache_resource(show_spinner=False)
def watchers() -> Watchers:
    """The sessions that watch the live view of a run, for every session of the server (how often each redraws it
    depends on how many there are)."""
    return Watchers()


def session_owner() -> str:
    """The key this browser session's runs are queued under (one queued or training run per key)."""
    return st.session_state.setdefault(OWNER_KEY, uuid.uuid4().hex)


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


def prepared_corpus(config: Config, future: Future | None = None) -> RunData | None:
    """The default corpus (``future``, else ``default_corpus()``), waited for if not ready yet, when ``config`` asks
    for it; else None (the worker then generates the corpus itself)."""
    defaults = Config()
    if any(getattr(config, name) != getattr(defaults, name) for name in CORPUS_FIELDS) or config.train_file:
        return None
    future = future or default_corpus()
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
