"""Where the shipped model lives and where new runs go, for the command line and the app alike."""

import os
import time
from pathlib import Path

CHECKPOINT_ENV = "SEQ2SEQ_CHECKPOINT"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPO_ROOT / "artifacts" / "model.pt"
RUN_INFO = "run.json"
"""The app's record of a run in its folder (what was asked and how it ended); ``train`` removes it from a folder it
trains into, since it would describe the model being replaced."""


def default_checkpoint_path() -> Path:
    """The shipped default model, or the checkpoint ``SEQ2SEQ_CHECKPOINT`` names."""
    value = os.environ.get(CHECKPOINT_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_CHECKPOINT


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
