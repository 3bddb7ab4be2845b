"""Run folders: where the app's runs live, what each holds, listing and deleting them, and uploaded corpora.

- Runs trained in the app go to ``artifacts/runs/<timestamp>/`` (``SEQ2SEQ_RUNS_DIR`` moves the root), each in a
  folder of its own holding ``model.pt``, ``history.csv`` and ``run.json`` (what was asked and how it ended).
- A run trained from the command line (``python -m seq2seq train --out artifacts/runs/mine``) has no ``run.json``:
  it is listed as "cli" with the test accuracy its checkpoint stores, and counts as ours (deletable) when its
  ``model.pt`` is a valid checkpoint and the folder holds nothing but the files our commands write. ``train`` removes
  the ``run.json`` of a folder it trains into; a finished run's ``run.json`` older than its ``model.pt`` (the model
  was replaced some other way) is not believed either: the run is listed from its checkpoint, as a "cli" run.
- A folder whose lock (``seq2seq.fileio.FolderLock``) another process holds is being trained into, from the command
  line or by another server: "training elsewhere", never deletable, whatever its files say.
"""

import json
import os
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from ..checkpoint import CheckpointError, load_checkpoint
from ..config import Config
from ..data import RunData, run_data_from_text
from ..fileio import LOCK_NAME, FolderBusyError, FolderLock, atomic_write_text, folder_is_locked
from ..paths import REPO_ROOT, RUN_INFO, default_checkpoint_path
from ..records import StopReason

RUNS_ENV = "SEQ2SEQ_RUNS_DIR"
DEFAULT_RUNS_DIR = REPO_ROOT / "artifacts" / "runs"
# What a run is doing: the worker's statuses, how a folder's run.json reads when the server has restarted since
# ("interrupted"), a folder described by its checkpoint alone, trained from the command line ("cli"), one that has
# neither a readable run.json nor such a checkpoint ("unknown"), and a folder another process is training into
# ("elsewhere").
RunStatus = Literal[
    "idle", "preparing", "running", "stopping", "finished", "failed", "interrupted", "cli", "unknown", "elsewhere"
]
ACTIVE_STATUSES: tuple[RunStatus, ...] = ("preparing", "running", "stopping", "elsewhere")  # these may still write
LiveRuns = str | Path | Collection[str | Path] | None  # the run folders this server trains into now
DELETING = ".deleting-"  # a run folder being deleted is renamed to this prefix first
RUN_FILES = frozenset(
    {"model.pt", "history.csv", RUN_INFO, "corpus.txt", "metrics.json", "examples.md", "ANALYSIS.md",
     "attention_heatmap.png", LOCK_NAME}
)  # fmt: skip
"""Every file ``train`` (app or command line) and ``report`` write in a run folder (the lock stays if a run is
killed)."""


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
    status: RunStatus
    started_at: float | None
    corpus: str
    stop_reason: StopReason | None
    test_exact_match: float | None
    has_model: bool
    ours: bool  # a folder one of our commands made: ``delete_run`` may remove it

    @property
    def checkpoint(self) -> Path:
        return self.path / "model.pt"

    @property
    def started(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at)) if self.started_at else ""


def live_folders(live_run_dir: LiveRuns) -> list[Path]:
    """The folders of ``live_run_dir``: one folder, several, or none."""
    folders = [live_run_dir] if isinstance(live_run_dir, str | Path) else live_run_dir or []
    return [Path(folder) for folder in folders]


def list_runs(root: str | Path | None = None, live_run_dir: LiveRuns = None) -> list[RunInfo]:
    """The run folders under ``root``, newest first (``run_time``). A run whose ``run.json`` says it is still going on
    but that is not ``live_run_dir`` (the runs this server's workers train now) was cut off, say by a server restart:
    "interrupted", unless another process holds its lock: "elsewhere", as is any folder but the live one whose lock
    is held. A run without ``run.json`` (trained from the command line), or whose ``run.json`` is older than its
    model, is "cli" and shows the test accuracy its checkpoint stores."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    live = {folder.resolve() for folder in live_folders(live_run_dir)}
    runs = []
    for path in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True):
        recorded = (path / RUN_INFO).is_file()
        info = read_run_info(path)
        stale = recorded and path.resolve() not in live and _record_is_older_than_model(path, info)
        if stale:
            info = {}  # it describes the model this folder held before: the checkpoint speaks for the folder
        stored = _stored_checkpoint(path) if stale or not recorded else None
        status = info.get("status") if info.get("status") in get_args(RunStatus) else "unknown"
        if stored is not None:
            status = "cli"
        if path.resolve() not in live and folder_is_locked(path):
            status = "elsewhere"
        elif status in ACTIVE_STATUSES and path.resolve() not in live:
            status = "interrupted"
        test = info.get("test") if isinstance(info.get("test"), dict) else {}
        accuracy = stored[1] if stored is not None else test.get("exact_match")
        runs.append(
            RunInfo(
                name=path.name,
                path=path,
                status=status,
                started_at=info.get("started_at") if isinstance(info.get("started_at"), int | float) else None,
                corpus=str(info.get("corpus") or ""),
                stop_reason=info.get("stop_reason") if info.get("stop_reason") in get_args(StopReason) else None,
                test_exact_match=accuracy if isinstance(accuracy, int | float) else None,
                has_model=(path / "model.pt").is_file(),
                ours=not path.is_symlink() and (recorded or stored is not None),
            )
        )
    runs.sort(key=lambda run: (run_time(run), run.name), reverse=True)
    return runs


def _record_is_older_than_model(path: Path, info: dict) -> bool:
    """Whether ``info``, the ``run.json`` of a run that has ended, was written before the folder's ``model.pt``: the
    app writes it after the model's last save, so the model was replaced since (say, by ``train --overwrite`` of a
    version that left the record)."""
    if info.get("status") in ACTIVE_STATUSES:
        return False  # a run still going on (or cut off) saves its model after its record, as it should
    try:
        return (path / "model.pt").stat().st_mtime_ns > (path / RUN_INFO).stat().st_mtime_ns
    except OSError:
        return False


def run_time(run: RunInfo) -> float:
    """When a run was made, for ordering: its start (``run.json``), or for a run without one (trained from the
    command line) when its folder last changed; 0 when neither can be read."""
    if run.started_at is not None:
        return run.started_at
    try:
        return run.path.stat().st_mtime
    except OSError:
        return 0.0


def _stored_checkpoint(path: Path) -> tuple[bool, float | None] | None:
    """For a folder without a ``run.json`` to believe: (True, its checkpoint's stored test exact match or None) when
    it holds a valid ``model.pt`` and only files our commands write (their temporary files included); else None."""
    try:
        entries = list(path.iterdir())
        if not entries or any(
            entry.is_symlink()
            or not entry.is_file()
            or (entry.name not in RUN_FILES and not (entry.name.startswith(".") and entry.name.endswith(".tmp")))
            for entry in entries
        ):
            return None
        info = (path / "model.pt").stat()
    except OSError:
        return None
    accuracy = _checkpoint_accuracy(str(path.resolve() / "model.pt"), info.st_mtime_ns, info.st_size)
    return None if accuracy is False else (True, accuracy)


@lru_cache(maxsize=256)
def _checkpoint_accuracy(path: str, mtime_ns: int, size: int) -> float | None | bool:
    """The test exact match a checkpoint stores (None if it stores none), or False when it is not a valid checkpoint;
    read once per file version."""
    try:
        test = load_checkpoint(path).metrics.get("test") or {}
    except CheckpointError:
        return False
    return test.get("exact_match")


def delete_run(root: str | Path, name: str, live_run_dir: LiveRuns = None) -> None:
    """Delete the run folder ``name`` under ``root`` for good. Raises ValueError, saying why, for a name that is not
    one of ``list_runs``' folders made by our commands (``RunInfo.ours``: one holding ``run.json``, or a valid
    checkpoint and nothing but our files), so nothing else under ``root`` can go, and for the run that is going on now
    (``live_run_dir``) or one another process trains into. The folder is first renamed to a hidden name, which
    ``list_runs`` skips: a crash midway leaves no half-deleted run on show, and the next deletion sweeps what it left.
    The folder's lock is held from the check to the rename, so no training can start in it meanwhile."""
    run = next((run for run in list_runs(root, live_run_dir) if run.name == name), None)
    if run is None or not run.ours:
        raise ValueError(f"there is no run folder {name!r} to delete")
    going_on = f"run {name} is still being trained (from the command line or another server): stop it first"
    if run.status == "elsewhere":
        raise ValueError(going_on)
    if run.status in ACTIVE_STATUSES:
        raise ValueError(f"run {name} is still going on: stop it first")
    try:
        with FolderLock(run.path):
            run.path.rename(run.path.with_name(f"{DELETING}{name}-{time.time_ns()}"))
    except FolderBusyError:
        raise ValueError(going_on) from None
    for hidden in Path(root).glob(f"{DELETING}*"):
        shutil.rmtree(hidden, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------- uploads
def safe_corpus_name(name: str) -> str:
    """An uploaded file's base name, stripped of any folder part and cut to 100 characters."""
    base = Path(str(name).replace("\\", "/")).name.strip() or "corpus.txt"
    return base[:100]


def upload_run_data(config: Config, data: bytes, name: str) -> RunData:
    """The splits and vocabulary of a run from an uploaded corpus (one sentence per line), as ``load_run_data`` makes
    them from a file. Raises InputError, with a message fit to show, for a file that cannot be used."""
    return run_data_from_text(config, data, safe_corpus_name(name))
