"""The Train page's replay: pick a run (the one training now, a finished run, a shipped model), scrub its curves (click
a point, or drag the slider over its validations) and see, at that moment, the watched sentences' attention and
decodes and the exact match per length; play it; compare how two or three runs learn; take it away as HTML or a GIF.

The moment is a training step (``STEP_KEY``) and the run a checkpoint path (``RUN_KEY``), both kept in the URL
(``/Train?run=additive&step=266``). Scrubbing reruns only the fragment that draws the moment; its figures are built
once per run and moment (``st.cache_resource``), so a step answers in a fraction of a second on the shipped models
(``benchmarks/replay_speed.py``).
"""

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects
import streamlit as st

from seq2seq.app.dispatch import TrainingPool
from seq2seq.app.models import model_label, model_options
from seq2seq.app.views import markdown_escape
from seq2seq.app.worker import TrainingState
from seq2seq.attention import kind_aligns, kind_name
from seq2seq.checkpoint_checks import CheckpointError
from seq2seq.config import Config
from seq2seq.metrics import GOOD, percent
from seq2seq.plots import (
    heatmap_figure,
    moment_title,
    overlay_figure,
    per_length_figure,
    replay_curve_figure,
)
from seq2seq.records import HistoryRow, Snapshot
from seq2seq.replay import EXACT_MARK, emergence_text, markers, moment_index
from ui import links
from ui.session import model_cache
from ui.widgets import PAINT_GAP, let_browser_paint

RUN_KEY, STEP_KEY, PLAY_KEY, SENTENCE_KEY = "replay_run", "replay_step", "replay_play", "replay_sentence"
CURVE_KEY, OVERLAY_KEY = "replay_curves", "replay_overlay"
PLAY_SECONDS = 0.8  # how long each moment shows while the replay plays
LIVE_SECONDS = 2.0  # how often the replay of the run training now looks for its new moments
MAX_OVERLAID = 3
OVERLAY_DEFAULTS = ("shipped default", "shipped additive", "shipped encdec")


@dataclass(frozen=True)
class Replayed:
    """What the replay of one run draws from: its history, its moments, its config, and a version that changes with
    them (the cache key of its figures)."""

    label: str
    history: list[HistoryRow]
    snapshots: list[Snapshot]
    config: Config
    version: tuple

    @property
    def aligns(self) -> bool:
        return kind_aligns(self.config.attention)

    @property
    def kind(self) -> str:
        """What the model is, in words."""
        return kind_name(self.config)


def runs_to_replay(state: TrainingState) -> dict[str, str]:
    """Checkpoint path -> label: the run training now (first, while it trains), the shipped models, the finished
    runs."""
    live = {str(state.checkpoint_path): f"run {state.run_dir.name} (training now)"} if state.active else {}
    return live | model_options(state.live_run_dir)


def replayed(path: str, state: TrainingState) -> Replayed:
    """The replay of the run at ``path``: the live run's from the trainer, any other from its checkpoint (checked on
    load: CheckpointError says in one line why it cannot be used)."""
    if state.active and path == str(state.checkpoint_path):
        version = ("live", state.run_id, len(state.history))
        return Replayed(f"run {state.run_dir.name}", state.history, state.replay, state.config or Config(), version)
    loaded = model_cache().get(path)
    checkpoint = loaded.checkpoint
    stat = Path(path).stat()
    version = (path, stat.st_mtime_ns, stat.st_size)
    return Replayed(model_label(path), checkpoint.history, checkpoint.snapshots, checkpoint.config, version)


def _marks(run: Replayed) -> list[tuple[str, str, int]]:
    return [(m.kind, m.label, m.step) for m in markers(run.history, run.snapshots)]


@st.cache_resource(show_spinner=False, max_entries=8)
def _curve_figure(version: tuple, _run: Replayed) -> plotly.graph_objects.Figure:
    """The run's curves, the same at every moment: the browser then keeps the chart as it is while the moment changes
    (redrawing it took about a third of a second a step)."""
    return replay_curve_figure(_run.history, _marks(_run))


@st.cache_resource(show_spinner=False, max_entries=8)
def _overlay_figure(versions: tuple, _runs: tuple[Replayed, ...]) -> plotly.graph_objects.Figure:
    """Several runs' curves on one step axis, built once per set of runs (and their versions) for every session: each
    view of the Train page draws it, and in a class every watching session's page is drawn again when a run starts or
    ends."""
    return overlay_figure([(run.label, run.history, _marks(run)) for run in _runs])


HEATMAPS_KEPT = 96  # heatmaps cached for every session: a few runs' moments


@st.cache_resource(show_spinner=False, max_entries=HEATMAPS_KEPT)
def _heatmap(version: tuple, index: int, sentence: int, _run: Replayed) -> plotly.graph_objects.Figure:
    example = _run.snapshots[index]["examples"][sentence]
    return heatmap_figure(example["tokens"], example["output"], example["attention"])


def warm_neighbours(run: Replayed, index: int, sentence: int) -> None:
    """Build, on a thread, the heatmaps of ``sentence`` at the moments just before and after ``index`` (about 12 ms
    each; the cache keeps them for every session): the next step of a scrub or of Play then finds its figure built,
    where building it was most of a step's server time (``benchmarks/replay_speed.py``). Only two, so that the thread
    is done long before the next step, not competing with it; and only once this step's answer has been sent (the
    thread first waits ``PAINT_GAP``): building them holds the GIL, which the server needs to send it."""
    neighbours = [i for i in (index + 1, index - 1) if 0 <= i < len(run.snapshots)]

    def build() -> None:
        time.sleep(PAINT_GAP)
        for i in neighbours:
            _heatmap(run.version, i, sentence, run)

    threading.Thread(target=build, name="seq2seq-replay-warm", daemon=True).start()


@st.cache_resource(show_spinner=False, max_entries=96)
def _lengths(version: tuple, index: int, _run: Replayed) -> plotly.graph_objects.Figure:
    rows = {n: {"exact_match": value} for n, value in _run.snapshots[index]["exact_by_length"].items()}
    return per_length_figure(rows, "Valid exact match by length, at this moment")


def _clicked() -> None:
    """A click on a curve point shows the moment nearest its step."""
    points = st.session_state[CURVE_KEY].selection.points
    if points:
        st.session_state[STEP_KEY] = int(points[0]["x"])


def replay_section(pool: TrainingPool) -> None:
    """The whole replay section of the Train page (``pool``: the server's training slots; the run it started last is
    the live one offered)."""
    state = pool.state(max_points=0)
    st.header("Replay: watch attention being learned")
    notes = links.apply_link(step_key=STEP_KEY, run_key=RUN_KEY)
    links.show_link_notes(notes)
    options = runs_to_replay(state)
    if st.session_state.get(RUN_KEY) not in options:
        # Not the run training now: the live view above shows it, and replaying it too would redraw its moment every
        # few seconds in the server that trains it (training about a tenth slower, in benchmarks/app_latency.py).
        # It stays the first choice of the picker, for a person who wants to scrub it as it goes.
        live = str(state.checkpoint_path) if state.active else None
        latest = str(state.checkpoint_path) if state.run_id and not state.active else None
        st.session_state[RUN_KEY] = latest if latest in options else next((p for p in options if p != live), None)
    if not options:
        st.info("No run to replay yet: train one above.")
        return
    path = st.selectbox("Run to replay", list(options), format_func=options.get, key=RUN_KEY)
    try:
        run = replayed(path, state)
    except (CheckpointError, OSError) as problem:
        st.warning(f"This run cannot be replayed: {markdown_escape(str(problem))}")
        return
    st.caption(markdown_escape(emergence_text(run.history, run.snapshots)))
    if not run.snapshots:
        return
    playing = st.toggle("▶ Play", key=PLAY_KEY, help="Show each moment in turn, from the one shown; again to stop.")
    live = state.active and path == str(state.checkpoint_path)

    @st.fragment(run_every=PLAY_SECONDS if playing else LIVE_SECONDS if live else None)
    def moment() -> None:
        now = replayed(path, pool.state(max_points=0)) if live else run  # a live run's moments grow
        if now.snapshots:
            show_moment(now, path, playing)

    moment()
    downloads(run)
    overlay(options, state)


def show_moment(run: Replayed, path: str, playing: bool) -> None:
    """The moment ``STEP_KEY`` asks for (the nearest one: a link's or a click's step may fall between two), or,
    while playing, the one after it (round again after the last)."""
    steps = [s["step"] for s in run.snapshots]
    index = moment_index(run.snapshots, st.session_state.get(STEP_KEY, steps[-1]))
    if playing:
        index = (index + 1) % len(steps)
    step = st.session_state[STEP_KEY] = steps[index]
    st.plotly_chart(
        _curve_figure(run.version, run),
        theme=None,
        key=CURVE_KEY,
        on_select=_clicked,
        selection_mode="points",
    )
    st.select_slider(
        "Moment (a validation)",
        options=steps,
        key=STEP_KEY,
        format_func=lambda s: f"step {s:,}",
        help="Drag over the validations, or click a point of the curves.",
    )
    snapshot = run.snapshots[index]
    st.markdown(f"**{markdown_escape(moment_title(snapshot))}**")
    if not run.aligns:
        st.info(f"This model ({run.kind}) has no attention: no heatmap to watch, only its decodes.")
    examples = snapshot["examples"]
    for example in examples:
        verdict = "right" if example["output"] == example["tokens"][::-1] else "wrong"
        st.text(f"{len(example['tokens'])} words, {verdict}:  {' '.join(example['output'])}")
    if run.aligns and examples:
        sentence = st.radio(
            "Attention of",
            range(len(examples)),
            index=len(examples) - 1,
            format_func=lambda i: " ".join(examples[i]["tokens"]),
            key=SENTENCE_KEY,
        )
        st.plotly_chart(_heatmap(run.version, index, sentence, run), theme=None, key="replay_heatmap", width="content")
    by_length = snapshot.get("exact_by_length") or {}
    if by_length:
        let_browser_paint()  # the heatmap is drawn before the per-length chart comes
        st.plotly_chart(_lengths(run.version, index, run), theme=None, key="replay_lengths")
    else:
        st.caption("Exact match per length was not recorded for this run (trained before the replay kept it).")
    links.keep_link(None, step, path)
    if run.aligns and examples:
        warm_neighbours(run, index, sentence)


def downloads(run: Replayed) -> None:
    if not run.aligns:
        return
    from seq2seq.replay_export import replay_gif, replay_html

    title = f"{run.label} ({run.kind}), learning to reverse"
    exports = [
        ("Download the replay (HTML, plays offline)", lambda: replay_html(run.snapshots, title), "html", "text/html"),
        ("Download the heatmaps forming (GIF)", lambda: replay_gif(run.snapshots, title), "gif", "image/gif"),
    ]
    for column, (label, data, kind, mime) in zip(st.columns(2), exports, strict=True):
        column.download_button(
            label,
            data=data,  # made when clicked
            file_name=f"replay.{kind}",
            mime=mime,
            key=f"replay_{kind}",
            icon=":material/download:",
            on_click="ignore",
        )


def overlay(options: dict[str, str], state: TrainingState) -> None:
    st.subheader("Compare how models learn")
    defaults = [path for path, label in options.items() if label in OVERLAY_DEFAULTS]
    chosen = st.multiselect(
        "Runs on one step axis",
        list(options),
        default=defaults,
        format_func=options.get,
        max_selections=MAX_OVERLAID,
        key=OVERLAY_KEY,
    )
    runs, problems = [], []
    for path in chosen:
        try:
            runs.append(replayed(path, state))
        except (CheckpointError, OSError) as problem:
            problems.append(f"{options[path]}: {problem}")
    for problem in problems:
        st.warning(markdown_escape(problem))
    if runs:
        figure = _overlay_figure(tuple(run.version for run in runs), tuple(runs))
        st.plotly_chart(figure, theme=None, key="replay_overlay_chart")
        st.caption(
            f"Star: where alignment emerges (the peak on the mirror word in at least {percent(GOOD)} of steps); "
            f"diamond: where valid exact match reaches {percent(EXACT_MARK)}."
        )
