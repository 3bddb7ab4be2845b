"""Where the shipped model lives, for the command line and the app alike."""

import os
from pathlib import Path

CHECKPOINT_ENV = "SEQ2SEQ_CHECKPOINT"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPO_ROOT / "artifacts" / "model.pt"


def default_checkpoint_path() -> Path:
    """The shipped default model, or the checkpoint ``SEQ2SEQ_CHECKPOINT`` names."""
    value = os.environ.get(CHECKPOINT_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_CHECKPOINT
