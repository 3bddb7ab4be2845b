"""Where models and runs live, and models loaded once per checkpoint for every session of a server.

- The shipped default model is ``artifacts/model.pt``; ``SEQ2SEQ_CHECKPOINT`` points elsewhere.
- Runs trained in the app go to ``artifacts/runs/<timestamp>/`` (``SEQ2SEQ_RUNS_DIR`` moves the root), each in a
  folder of its own holding ``model.pt``, ``history.csv`` and ``run.json`` (what was asked and how it ended).
- ``ModelCache`` loads a checkpoint once per (path, modification time, size) and is safe to share between threads;
  a broken file is remembered as broken, with its one-line reason, until it changes.
"""

import json
import os
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import CheckpointError, atomic_write_text
from .config import Config
from .data import RunData, run_data_from_text
from .inference import Reverser
from .report import SHOWCASE_SENTENCE, TestReport, evaluate_sentences
from .tokenize import tokenize

CHECKPOINT_ENV = "SEQ2SEQ_CHECKPOINT"
RUNS_ENV = "SEQ2SEQ_RUNS_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPO_ROOT / "artifacts" / "model.pt"
DEFAULT_RUNS_DIR = REPO_ROOT / "artifacts" / "runs"
RUN_INFO = "run.json"
ACTIVE_STATUSES = ("preparing", "running", "stopping")  # a run in one of these may still write to its folder
DELETING = ".deleting-"  # a run folder being deleted is renamed to this prefix first
UNKNOWN_WORD_EXAMPLE = "the wug sat on the mat"


def default_checkpoint_path() -> Path:
    """The shipped default model, or the checkpoint ``SEQ2SEQ_CHECKPOINT`` names."""
    value = os.environ.get(CHECKPOINT_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_CHECKPOINT


def runs_root() -> Path:
    """The folder the app's runs go in: ``artifacts/runs`` or ``SEQ2SEQ_RUNS_DIR``."""
    value = os.environ.get(RUNS_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_RUNS_DIR


def ablation_path() -> Path:
    """``ablation.json`` beside the default model (``artifacts/ablation.json``)."""
    return default_checkpoint_path().parent / "ablation.json"


def load_ablation(path: str | Path | None = None) -> tuple[dict | None, str | None]:
    """(the ablation results, None), (None, None) when there is no file, or (None, why it cannot be read)."""
    path = Path(path) if path is not None else ablation_path()
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"{path.name} cannot be read: {error}"
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        return None, f"{path.name} has no list of result rows"
    return data, None


# --------------------------------------------------------------------------------------------------------- runs
def new_run_dir(root: str | Path, now: float | None = None) -> Path:
    """Create and return a new, empty run folder named after the time: ``root/20250131-142501`` (``-2`` etc. when
    that name is taken). Never returns a folder that already existed."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    for n in range(1, 1000):
        path = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise OSError(f"no free run folder name under {root} for {stamp}")


def write_run_info(run_dir: str | Path, info: dict) -> None:
    atomic_write_text(Path(run_dir) / RUN_INFO, json.dumps(info, indent=2) + "\n")


def read_run_info(run_dir: str | Path) -> dict:
    """A run folder's ``run.json``, or an empty dict when it is missing or unreadable."""
    try:
        data = json.loads((Path(run_dir) / RUN_INFO).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class RunInfo:
    name: str
    path: Path
    status: str  # finished | failed | running | preparing | stopping | interrupted | unknown
    started_at: float | None
    corpus: str
    stop_reason: str | None
    test_exact_match: float | None
    has_model: bool

    @property
    def checkpoint(self) -> Path:
        return self.path / "model.pt"

    @property
    def started(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at)) if self.started_at else ""


def list_runs(root: str | Path | None = None, live_run_dir: str | Path | None = None) -> list[RunInfo]:
    """The run folders under ``root``, newest first. A run whose ``run.json`` says it is still going on but that is
    not ``live_run_dir`` (the one the worker runs now) was cut off, say by a server restart: "interrupted"."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    live = Path(live_run_dir).resolve() if live_run_dir else None
    runs = []
    for path in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True):
        info = read_run_info(path)
        status = str(info.get("status") or "unknown")
        if status in ACTIVE_STATUSES and path.resolve() != live:
            status = "interrupted"
        test = info.get("test") if isinstance(info.get("test"), dict) else {}
        accuracy = test.get("exact_match")
        runs.append(
            RunInfo(
                name=path.name,
                path=path,
                status=status,
                started_at=info.get("started_at") if isinstance(info.get("started_at"), int | float) else None,
                corpus=str(info.get("corpus") or ""),
                stop_reason=info.get("stop_reason"),
                test_exact_match=accuracy if isinstance(accuracy, int | float) else None,
                has_model=(path / "model.pt").is_file(),
            )
        )
    return runs


def delete_run(root: str | Path, name: str, live_run_dir: str | Path | None = None) -> None:
    """Delete the run folder ``name`` under ``root`` for good. Raises ValueError, saying why, for a name that is not
    one of ``list_runs``' folders holding a ``run.json`` (so nothing else under ``root`` can go), and for the run
    that is going on now (``live_run_dir``). The folder is first renamed to a hidden name, which ``list_runs`` skips:
    a crash midway leaves no half-deleted run on show, and the next deletion sweeps what it left."""
    run = next((run for run in list_runs(root, live_run_dir) if run.name == name), None)
    if run is None or run.path.is_symlink() or not (run.path / RUN_INFO).is_file():
        raise ValueError(f"there is no run folder {name!r} to delete")
    if run.status in ACTIVE_STATUSES:
        raise ValueError(f"run {name} is still going on: stop it first")
    run.path.rename(run.path.with_name(f"{DELETING}{name}-{time.time_ns()}"))
    for hidden in Path(root).glob(f"{DELETING}*"):
        shutil.rmtree(hidden, ignore_errors=True)


def model_label(path: str | Path) -> str:
    """How a model is named in the app: "shipped default", "run 20250131-142501", or its path."""
    path = Path(path)
    try:
        if path.resolve() == default_checkpoint_path().resolve():
            return "shipped default"
        if path.resolve().parent.parent == runs_root().resolve():
            return f"run {path.parent.name}"
    except OSError:
        pass
    return str(path)


# --------------------------------------------------------------------------------------------------------- uploads
def safe_corpus_name(name: str) -> str:
    """An uploaded file's base name, stripped of any folder part and cut to 100 characters."""
    base = Path(str(name).replace("\\", "/")).name.strip() or "corpus.txt"
    return base[:100]


def upload_run_data(config: Config, data: bytes, name: str) -> RunData:
    """The splits and vocabulary of a run from an uploaded corpus (one sentence per line), as ``load_run_data`` makes
    them from a file. Raises InputError, with a message fit to show, for a file that cannot be used."""
    return run_data_from_text(config, data, safe_corpus_name(name))


# --------------------------------------------------------------------------------------------------------- models
@dataclass
class LoadedModel:
    """A checkpoint loaded for the app: its reverser, and its test-set evaluation computed once on first use."""

    path: Path
    label: str
    reverser: Reverser
    _report: TestReport | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def checkpoint(self):
        return self.reverser.checkpoint

    @property
    def config(self) -> Config:
        return self.checkpoint.config

    @property
    def test_metrics(self) -> dict | None:
        test = self.checkpoint.metrics.get("test")
        return test if isinstance(test, dict) and "exact_match" in test else None

    def accuracy_text(self) -> str:
        test = self.test_metrics
        if test is None:
            return "test accuracy not measured yet"
        return f"test exact match {100 * test['exact_match']:.1f}% ({test['correct']:,}/{test['total']:,})"

    def test_report(self) -> TestReport:
        """The model on its stored test split (computed once, then kept)."""
        with self._lock:
            if self._report is None:
                self._report = evaluate_sentences(self.reverser, self.checkpoint.test_sentences)
            return self._report

    def example_sentences(self, count: int = 4) -> list[str]:
        """Sentences worth trying: the classic one when its words are known, a few test sentences of different
        lengths, and one with a word the model never saw."""
        vocab = self.reverser.vocab
        picks: list[str] = []
        if all(tok in vocab for tok in tokenize(SHOWCASE_SENTENCE)):
            picks.append(SHOWCASE_SENTENCE)
        tests = sorted(self.checkpoint.test_sentences, key=lambda s: (len(s), s))
        for share in (0.3, 0.65, 0.97):
            if tests:
                sentence = " ".join(tests[min(len(tests) - 1, int(share * len(tests)))])
                if sentence not in picks:
                    picks.append(sentence)
        picks = picks[: max(0, count - 1)]
        if "wug" not in vocab and all(tok in vocab for tok in tokenize(UNKNOWN_WORD_EXAMPLE) if tok != "wug"):
            picks.append(UNKNOWN_WORD_EXAMPLE)
        return picks[:count]


class ModelCache:
    """Checkpoints loaded once per (path, modification time, size), shared by every session of a server.

    ``get`` raises CheckpointError with a one-line reason; that reason is remembered for the same file version, so a
    broken file is not read again on every page view. When a file that loaded before goes missing or is replaced by
    one that cannot be used, ``get`` keeps serving the last good version and ``problem`` says what is wrong.
    """

    def __init__(self, max_entries: int = 4, device: str = "cpu") -> None:
        self.max_entries = max_entries
        self.device = device
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, LoadedModel | CheckpointError] = OrderedDict()
        self._last_good: dict[str, LoadedModel] = {}
        self._problems: dict[str, str] = {}
        self.loads = 0  # how many times a file was actually read (for tests and the soak figures)

    def get(self, path: str | Path) -> LoadedModel:
        path = Path(path)
        name = str(path.resolve())
        try:
            entry = self._load(path, name)
        except CheckpointError as error:
            with self._lock:
                good = self._last_good.get(name)
                if good is None:
                    self._problems.pop(name, None)
                    raise
                self._problems[name] = str(error)
            return good
        with self._lock:
            self._last_good[name] = entry
            self._problems.pop(name, None)
        return entry

    def problem(self, path: str | Path) -> str | None:
        """Why the file at ``path`` cannot be used now, when ``get`` serves an earlier good version of it instead."""
        with self._lock:
            return self._problems.get(str(Path(path).resolve()))

    def _load(self, path: Path, name: str) -> LoadedModel:
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise CheckpointError(f"checkpoint not found: {path}") from None
        except OSError as error:
            raise CheckpointError(f"{path.name} cannot be read: {error.strerror or error}") from None
        key = (name, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.loads += 1
                try:
                    reverser = Reverser.load(path, self.device)
                    entry = LoadedModel(path, model_label(path), reverser)
                except CheckpointError as error:
                    entry = error
                except (ValueError, RuntimeError, KeyError, TypeError) as error:  # weights that do not build
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    entry = CheckpointError(f"{path.name} cannot be used: {reason[:200]}")
                self._entries[key] = entry
                # Older versions of the same file are stale (the last good one is kept apart), then the size limit.
                for other in [k for k in self._entries if k[0] == key[0] and k != key]:
                    del self._entries[other]
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
        if isinstance(entry, CheckpointError):
            raise CheckpointError(str(entry))
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._last_good.clear()
            self._problems.clear()
