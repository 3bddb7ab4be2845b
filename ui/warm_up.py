"""What the server makes before it answers anyone (``warm_up``, run by ``streamlit_app.py``'s lifespan), and the cache
of typed sentences that it fills with the default model's examples."""

import gc
import importlib
import time
from dataclasses import dataclass

import plotly.graph_objects
import streamlit as st

from seq2seq.app import decoder_view
from seq2seq.app.models import LoadedModel, shipped_models
from seq2seq.app.process_worker import wait_for_fork_server
from seq2seq.checkpoint import CheckpointError
from seq2seq.decoding import Reversal
from seq2seq.evaluation import SHOWCASE_SENTENCE
from seq2seq.paths import default_checkpoint_path
from seq2seq.plots import heatmap_figure, with_clickable_rows
from seq2seq.tokenize import checked_tokens
from ui.session import model_cache
from ui.training import default_corpus, training_pool


@dataclass
class TypedSentence:
    """A typed sentence through one model, and its heatmap once it has been drawn. ``model`` is held so that its
    ``id``, part of the cache key below, cannot be reused by another model while the entry lives."""

    model: LoadedModel
    result: Reversal
    _figure: plotly.graph_objects.Figure | None = None

    @property
    def figure(self) -> plotly.graph_objects.Figure:
        """The heatmap, built on first use: a page shows the reversal before it builds the figure (tens of
        milliseconds), and then every session reuses it. Two sessions asking at once may both build it: the same
        figure, one of them kept."""
        if self._figure is None:
            self._figure = heatmap_figure(self.result.tokens, self.result.output, self.result.attention)
        return self._figure


# An entry (the figure, mostly) holds about 130 KB: with 256 of them the soak saw the server's memory climb 35 MB over
# its traffic before the cache was full. 64 keep the example sentences and recent inputs of every session.
@st.cache_resource(show_spinner=False, max_entries=64)
def typed_sentence(model_id: int, sentence: str, _model: LoadedModel) -> TypedSentence:
    """``sentence`` through the model ``model_id`` (``id`` of a LoadedModel) and its heatmap, made once per model and
    sentence for every session: an Enter on a sentence seen before costs no decoding and no figure building.

    Raises InputError (never cached) for an empty or over-long sentence."""
    return TypedSentence(_model, _model.reverser.reverse(sentence))


def warm_up() -> dict[str, float]:
    """Make what a first visit needs, once per server before it answers; returns the seconds each step took.

    The default model is loaded and its example sentences reversed and drawn (a first reversal, or an example button,
    then costs no load or figure building), then the other shipped models and the Decoder's first view; the training
    slots are made, the default corpus is generated and what an optimizer imports is imported (a Start with the
    defaults trains at once, in a child forked ready to train). A default model that cannot be loaded is left to the
    pages, which say why."""
    steps = {
        # First: its fork server imports torch and the training code on another core while the steps below go on.
        "training slots": training_pool,
        "torch._dynamo (imported by an optimizer's constructor)": lambda: importlib.import_module("torch._dynamo"),
        "emoji pattern (a page's first set_page_config)": lambda: importlib.import_module("streamlit.emojis"),
        "default corpus": lambda: default_corpus().result(),
        "default model and its examples": _warm_default_model,
        "the other shipped models (Compare opens with all of them)": _load_shipped_models,
        "the Decoder's first view": _warm_decoder_view,
        "training's fork server (torch imported in it)": wait_for_fork_server,
        "what it made, set aside from garbage collection": set_aside_from_garbage_collection,  # last: all of it
    }
    took = {}
    for name, step in steps.items():
        started = time.perf_counter()
        step()
        took[name] = time.perf_counter() - started
    return took


def set_aside_from_garbage_collection() -> None:
    """Move every object the server holds now (torch, the app's modules, the default model and corpus: what it keeps
    until it stops) out of the garbage collector's reach (``gc.freeze``). A full collection walks every object it
    tracks, holding the interpreter lock the while: with the warmed server's hundreds of thousands it took most of
    a second, now and then, and every session's answer waited. Later collections walk only what came after. The
    warm-up leaves next to no garbage to be kept by mistake."""
    gc.freeze()


def _load_shipped_models() -> None:
    """Load the shipped models, as a first Compare does: a class's first visitors there then wait for none of them,
    and the server's memory holds them from the start rather than growing as the class goes on. No more than the model
    cache keeps, the default last, so that none of them pushes the default out. One that cannot be loaded is left to
    the page, which says why."""
    cache = model_cache()
    for path in reversed(shipped_models()[: cache.max_entries]):
        try:
            cache.get(path)
        except CheckpointError:
            continue


def _warm_decoder_view() -> None:
    """Decode the Decoder's opening sentence with the default model and build its figures, as a first Decoder open
    does: the decode is kept for every session (``LoadedModel.decode``), and Plotly loads what checks each kind of
    trace and property the first time one is built, which a class's first visitor there then does not wait for."""
    model = _default_model()
    if model is None:
        return
    decoded = model.decode(checked_tokens(SHOWCASE_SENTENCE), record=True)
    with_clickable_rows(heatmap_figure(decoded.tokens, decoded.output, decoded.attention))
    decoder_view.stop_figure(decoded)
    first_step = decoded.found.steps[0]
    decoder_view.weights_figure(first_step, decoded.tokens)
    decoder_view.energy_figure(first_step, decoded.tokens)


def _warm_default_model() -> None:
    model = _default_model()
    if model is None:
        return
    for sentence in model.example_sentences():
        typed_sentence(id(model), sentence, model).figure  # noqa: B018 (built now, before anyone asks)


def _default_model() -> LoadedModel | None:
    """The default model, or None where it cannot be loaded: that is left to the pages, which say why."""
    try:
        return model_cache().get(default_checkpoint_path())
    except CheckpointError:
        return None
