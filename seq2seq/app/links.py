"""Links that carry the app's state: ``/?sentence=the+cat+sat``, ``/Decoder?sentence=...&step=3&model=...`` and
``/Train?run=additive&step=266`` (a run's replay at a training step) and ``/Learn?lesson=2&step=3&class=CODE``.

Parameters come from a URL anyone can write, so each is checked and bounded here, without Streamlit: an unknown or
unusable parameter is dropped with a note for the page to show, never an error. A model is named as the sidebar's
picker names it: ``default`` for the shipped default, a shipped model's folder name (``additive``, ``encdec``,
``stop``), or a run folder's name (``runs/<name>`` when that name is a shipped model's too). Names are mapped to
checkpoints through ``shipped_models`` and ``usable_run``, the lists the picker offers: a path in a URL never reaches
the file system, and a run still training is refused as the picker refuses it (a replay's ``run`` excepted: the run
training now may be replayed as it goes).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import default_checkpoint_path
from ..tokenize import InputError, checked_tokens, echo
from .models import STILL_TRAINING, shipped_models, usable_run
from .runs import LiveRuns, live_folders, runs_root

PARAMETERS = ("sentence", "lesson", "step", "model", "run")
DEFAULT_MODEL = "default"
RUN_PREFIX = "runs/"  # before a run's name when a shipped model has that name too (a folder name holds no "/")
MAX_STEP = 200  # longer than any decode: a sentence has at most 100 tokens, decoding stops 5 steps past its length
MAX_TRAINING_STEP = 10**9  # a replay's step: past any run's last update
MAX_LESSON = 99  # a whole number the Learn page then checks against its lessons


def step_limit(reads: Collection[str]) -> int:
    """The largest step a page's link may carry: a training step on a page that replays a run (it reads ``run``),
    else a decoder step."""
    return MAX_TRAINING_STEP if "run" in reads else MAX_STEP


MAX_NOTED_PARAMETERS = 3  # unknown parameters named in their one note; the rest are counted


@dataclass
class Link:
    """What a link asks for, once checked. ``step`` counts from 1, as the page shows it."""

    sentence: str | None = None
    step: int | None = None
    lesson: int | None = None
    class_code: str | None = None  # the class a learner joins, on a page that reads ``class``: unchecked here
    model: Path | None = None  # a checkpoint the library found for the link's model name
    run: Path | None = None  # the checkpoint of the run to replay (named as a model is; the run training now too)
    notes: list[str] = field(default_factory=list)  # one line per parameter that was ignored, and why


def shipped_names() -> dict[str, Path]:
    """The shipped models by link name: ``default``, then each shipped folder's name (``additive``, ``encdec``,
    ``stop``)."""
    default = default_checkpoint_path()
    names = {DEFAULT_MODEL: default}
    for path in shipped_models():
        if path != default:
            names.setdefault(path.parent.name, path)
    return names


def model_for_name(
    name: str, root: str | Path | None = None, live_run_dir: LiveRuns = None
) -> tuple[Path | None, str | None]:
    """(the checkpoint a link's model name stands for, None), or (None, why not). A name is a shipped model's (see
    ``shipped_names``) or a finished run's that holds a model, under the runs root; a run still training
    (``live_run_dir``, or one another process trains into) is refused, as the picker refuses it."""
    shipped = shipped_names()
    if name in shipped:
        return shipped[name], None
    checkpoint, why = usable_run(name.removeprefix(RUN_PREFIX), root, live_run_dir)
    if checkpoint is None and why != STILL_TRAINING:
        why = f"is not a shipped model ({', '.join(map(repr, shipped))}) nor a trained run here"
    return checkpoint, why


def model_name(path: str | Path | None, root: str | Path | None = None) -> str | None:
    """The name a link uses for a model: ``default``, a shipped folder's name, or its run folder's name (with
    ``runs/`` before it when a shipped model has that name); None for a file that is none of these."""
    if path is None:
        return DEFAULT_MODEL
    try:
        path = Path(path).resolve()
        shipped = shipped_names()
        for name, checkpoint in shipped.items():
            if checkpoint.resolve() == path:
                return name
        if path.parent.parent == Path(root or runs_root()).resolve():
            run = path.parent.name
            return f"{RUN_PREFIX}{run}" if run in shipped else run
    except OSError:
        pass
    return None


def parse_link(
    params: Mapping[str, str],
    root: str | Path | None = None,
    live_run_dir: LiveRuns = None,
    reads: Collection[str] = PARAMETERS,
    most_step: int = MAX_STEP,
) -> Link:
    """Check a page's query parameters; each one that cannot be used is left out, with a note saying why (one note
    for all the unknown ones, naming a few). ``reads``: the parameters the page uses (Try it has no step); the others
    are left out with a note too, never silently. A parameter in ``reads`` that is not one of ``PARAMETERS`` is the
    page's own (``class`` and ``key`` on Class), which the page checks itself: it gets no note here. ``most_step``:
    the largest step the page reads (``step_limit``)."""
    link = Link()
    unread = [name for name in PARAMETERS if name in params and name not in reads]
    if unread:
        link.notes.append(f"This page does not use the link's {' or '.join(unread)}; it was ignored.")
    params = {name: value for name, value in params.items() if name not in unread}
    unknown = [name for name in params if name not in PARAMETERS and name not in reads]
    if len(unknown) == 1:
        link.notes.append(f"The link's parameter {echo(unknown[0])} is not one this app reads; it was ignored.")
    elif unknown:
        named = ", ".join(echo(name) for name in unknown[:MAX_NOTED_PARAMETERS])
        more = ", …" if len(unknown) > MAX_NOTED_PARAMETERS else ""
        link.notes.append(
            f"The link's {len(unknown):,} parameters {named}{more} are not ones this app reads; they were ignored."
        )
    sentence = params.get("sentence")
    if sentence is not None:
        try:
            checked_tokens(sentence)
            link.sentence = " ".join(sentence.split())
        except InputError as problem:
            link.notes.append(f"The link's sentence was ignored: {problem}")
    link.lesson = _whole_number(params, "lesson", MAX_LESSON, link.notes)
    link.step = _whole_number(params, "step", most_step, link.notes)
    if "class" in reads:  # a page's own (Learn, Class): the class itself checks the code (``app.classes``)
        link.class_code = params.get("class")
    run = params.get("run")
    if run is not None:
        live = next((folder for folder in live_folders(live_run_dir) if folder.name == run), None)
        if live is not None:
            link.run = live / "model.pt"
        else:
            link.run, why = model_for_name(run, root, live_run_dir)
            if link.run is None:
                link.notes.append(f"The link's run {echo(run)} {why}; another run is shown instead.")
    model = params.get("model")
    if model is not None:
        link.model, why = model_for_name(model, root, live_run_dir)
        if link.model is None:
            link.notes.append(f"The link's model {echo(model)} {why}; the active model is used instead.")
    return link


def _whole_number(params: Mapping[str, str], name: str, maximum: int, notes: list[str]) -> int | None:
    """The parameter ``name`` as a whole number from 1 to ``maximum``; None, with a note, for anything else."""
    value = params.get(name)
    if value is None:
        return None
    # ASCII digits only ("²".isdigit() holds but int() refuses it); leading zeros are read past, so "0003" is 3 like
    # "03", and only what is left is converted: int() refuses 4,301 digits or more
    digits = value.strip().lstrip("0")
    if digits.isascii() and digits.isdecimal() and len(digits) <= len(str(maximum)) and int(digits) <= maximum:
        return int(digits)
    notes.append(f"The link's {name} {echo(value)} was ignored: it must be a whole number from 1 to {maximum:,}.")
    return None


def link_params(
    sentence: str | None,
    step: int | None = None,
    model: str | Path | None = None,
    run: str | Path | None = None,
    *,
    lesson: int | None = None,
    class_code: str | None = None,
) -> dict[str, str]:
    """The query parameters that reopen this view: what a page writes back to its URL. ``model`` is the model the
    page shows (None: the shipped default), ``run`` the run a replay shows; each is written under the name
    ``parse_link`` reads back. ``lesson`` and ``class_code``: the Learn page's place and class."""
    params: dict[str, str] = {}
    if sentence:
        params["sentence"] = " ".join(sentence.split())
    if lesson is not None:
        params["lesson"] = str(lesson)
    if step is not None:
        params["step"] = str(step)
    if class_code:
        params["class"] = class_code
    name = model_name(model)
    if name is not None:
        params["model"] = name
    if run is not None and (name := model_name(run)) is not None:
        params["run"] = name
    return params
