"""Run folders: where the app's runs live, what each holds, listing and deleting them, and uploaded corpora.

- Runs trained in the app go to ``artifacts/runs/<timestamp>/`` (``SEQ2SEQ_RUNS_DIR`` moves the root), each in a
  folder of its own holding ``model.pt``, ``history.csv`` and ``run.json`` (what was asked and how it ended).
"""

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ..config import Config
from ..data import RunData, run_data_from_text
from ..fileio import atomic_write_text
from ..paths import REPO_ROOT, default_checkpoint_path
from ..records import StopReason

RUNS_ENV = "SEQ2SEQ_RUNS_DIR"
DEFAULT_RUNS_DIR = REPO_ROOT / "artifacts" / "runs"
RUN_INFO = "run.json"
# What a run is doing: the worker's statuses, and how a folder's run.json reads when the server has restarted since
# ("interrupted") or it cannot be read ("unknown").
RunStatus = Literal["idle", "preparing", "running", "stopping", "finished", "failed", "interrupted", "unknown"]
ACTIVE_STATUSES: tuple[RunStatus, ...] = ("preparing", "running", "stopping")  # a run in one of these may still write
DELETING = ".deleting-"  # a run folder being deleted is renamed to this prefix first


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
        status = info.get("status") if info.get("status") in get_args(RunStatus) else "unknown"
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
                stop_reason=info.get("stop_reason") if info.get("stop_reason") in get_args(StopReason) else None,
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


# --------------------------------------------------------------------------------------------------------- uploads
def safe_corpus_name(name: str) -> str:
    """An uploaded file's base name, stripped of any folder part and cut to 100 characters."""
    base = Path(str(name).replace("\\", "/")).name.strip() or "corpus.txt"
    return base[:100]


def upload_run_data(config: Config, data: bytes, name: str) -> RunData:
    """The splits and vocabulary of a run from an uploaded corpus (one sentence per line), as ``load_run_data`` makes
    them from a file. Raises InputError, with a message fit to show, for a file that cannot be used."""
    return run_data_from_text(config, data, safe_corpus_name(name))
