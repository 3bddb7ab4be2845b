"""Links that carry the app's state: ``/?sentence=the+cat+sat`` and ``/Decoder?sentence=...&step=3&model=...``.

Parameters come from a URL anyone can write, so each is checked and bounded here, without Streamlit: an unknown or
unusable parameter is dropped with a note for the page to show, never an error. A model is named by a run folder's
name (as the Train page lists them) or ``default``, and mapped to a checkpoint through ``list_runs``: a path in a
URL never reaches the file system.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import default_checkpoint_path
from ..tokenize import InputError, checked_tokens
from .runs import list_runs, runs_root

PARAMETERS = ("sentence", "step", "model")
DEFAULT_MODEL = "default"
MAX_STEP = 200  # longer than any decode: a sentence has at most 100 tokens, decoding stops 5 steps past its length
MAX_NOTED_NAME = 40


@dataclass
class Link:
    """What a link asks for, once checked. ``step`` counts from 1, as the page shows it."""

    sentence: str | None = None
    step: int | None = None
    model: Path | None = None  # a checkpoint the library found for the link's model name
    notes: list[str] = field(default_factory=list)  # one line per parameter that was ignored, and why


def _shown(text: str) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= MAX_NOTED_NAME else text[: MAX_NOTED_NAME - 1] + "…")


def model_for_name(name: str, root: str | Path | None = None) -> Path | None:
    """The checkpoint a link's model name stands for: the shipped default, or a run folder under the runs root that
    holds a model; None for anything else."""
    if name == DEFAULT_MODEL:
        return default_checkpoint_path()
    for run in list_runs(root):
        if run.name == name and run.has_model:
            return run.checkpoint
    return None


def model_name(path: str | Path | None, root: str | Path | None = None) -> str:
    """The name a link uses for a model: ``default``, or its run folder's name; ``default`` for anything else."""
    if path is None:
        return DEFAULT_MODEL
    path = Path(path)
    try:
        if path.resolve().parent.parent == Path(root or runs_root()).resolve():
            return path.parent.name
    except OSError:
        pass
    return DEFAULT_MODEL


def parse_link(params: Mapping[str, str], root: str | Path | None = None) -> Link:
    """Check a page's query parameters; each one that cannot be used is left out, with a note saying why."""
    link = Link()
    for name in params:
        if name not in PARAMETERS:
            link.notes.append(f"The link's parameter {_shown(name)} is not one this app reads; it was ignored.")
    sentence = params.get("sentence")
    if sentence is not None:
        try:
            checked_tokens(sentence)
            link.sentence = " ".join(sentence.split())
        except InputError as problem:
            link.notes.append(f"The link's sentence was ignored: {problem}")
    step = params.get("step")
    if step is not None:
        digits = step.strip()
        # ASCII digits only, and few: "²".isdigit() holds but int() refuses it, as it does 4,301 digits or more
        if (
            digits.isascii()
            and digits.isdecimal()
            and len(digits) <= len(str(MAX_STEP))
            and 1 <= int(digits) <= MAX_STEP
        ):
            link.step = int(step)
        else:
            link.notes.append(f"The link's step {_shown(step)} was ignored: it must be a whole number from 1.")
    model = params.get("model")
    if model is not None:
        link.model = model_for_name(model, root)
        if link.model is None:
            link.notes.append(
                f"The link's model {_shown(model)} is not a trained run here (nor {DEFAULT_MODEL!r}); the active model "
                "is used instead."
            )
    return link


def link_params(sentence: str | None, step: int | None = None, model: str | Path | None = None) -> dict[str, str]:
    """The query parameters that reopen this view: what a page writes back to its URL."""
    params: dict[str, str] = {}
    if sentence:
        params["sentence"] = " ".join(sentence.split())
    if step is not None:
        params["step"] = str(step)
    name = model_name(model)
    if model is not None and name != DEFAULT_MODEL:
        params["model"] = name
    return params
