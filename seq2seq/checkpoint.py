"""One self-contained checkpoint file per model: config, vocabulary, weights, history, metrics, test split.

Checkpoints hold only tensors and plain Python values, so they load with ``torch.load(weights_only=True)``: a file
that would run code when unpickled is refused, not executed. Files are written atomically (a temporary file beside
the target, fsync, then rename), so a crash or a full disk never leaves a half-written checkpoint in place.

Everything in a file is checked before a model is built from it: ``seq2seq.checkpoint_checks`` holds those checks
and their limits.
"""

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .attention import kind_aligns
from .checkpoint_checks import CheckpointError, check_file, check_weights, checked_fields
from .config import Config
from .errors import one_line
from .fileio import atomic_write
from .model import Seq2Seq
from .records import HistoryRow, Snapshot
from .vocab import Vocabulary

FORMAT = "seq2seq-reverser"
FORMAT_VERSION = 2
# Version 1 kept the attention's layers on the decoder itself (``decoder.key`` ...); version 2 moved them into their
# own module (``decoder.attention.key`` ...). Nothing else changed, so a version 1 file is read by renaming.
V1_ATTENTION_LAYERS = ("key", "energy", "location")


@dataclass
class Checkpoint:
    config: Config
    vocab: Vocabulary
    state_dict: dict
    history: list[HistoryRow] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    test_sentences: list[list[str]] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)  # the replay: one moment per kept validation

    def build_model(self, device: torch.device | str = "cpu") -> Seq2Seq:
        """The model, after checking (without allocating it) that every weight fits it."""
        check_weights(self.state_dict, len(self.vocab), self.config)
        model = Seq2Seq(len(self.vocab), self.config)
        model.load_state_dict(self.state_dict)
        return model.to(device).eval()

    def to_payload(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "vocab": list(self.vocab.itos),
            "state_dict": self.state_dict,
            "history": self.history,
            "metrics": self.metrics,
            "test_sentences": [" ".join(s) for s in self.test_sentences],
            "snapshots": self.snapshots,
        }


def save_checkpoint(checkpoint: Checkpoint, path: str | Path) -> None:
    buffer = io.BytesIO()
    torch.save(checkpoint.to_payload(), buffer)
    atomic_write(path, lambda handle: handle.write(buffer.getbuffer()))


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and check a checkpoint, or raise CheckpointError saying in one line what is wrong with it.

    The path is checked before it is opened (a folder, a device or a FIFO is named as such, and never read or
    waited on), and the open file is checked again, so a path swapped in between cannot slip through."""
    path = Path(path)
    try:
        check_file(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in after the stat must not block
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except OSError as error:
        raise CheckpointError(f"{path.name} cannot be read: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as handle:
        check_file(path, os.fstat(fd))
        try:
            payload = torch.load(handle, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises many kinds for truncated, foreign or hostile files
            reason = one_line(error)
            if "weights_only" in str(error) or "Unsupported global" in str(error):
                reason = "it holds Python objects that could run code when loaded, so it was not loaded"
            raise CheckpointError(f"{path.name} is not a readable checkpoint: {reason[:200]}") from None
    return checkpoint_from_payload(payload, path.name)


def checkpoint_from_payload(payload: object, name: str = "checkpoint") -> Checkpoint:
    """A checkpoint from a loaded payload, after checking every field (seq2seq.checkpoint_checks)."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a {FORMAT} checkpoint")
    version = payload.get("format_version")
    if version == 1 and isinstance(payload.get("state_dict"), dict):
        payload = {**payload, "state_dict": state_dict_from_v1(payload["state_dict"], payload.get("config"))}
    elif version != FORMAT_VERSION:
        raise CheckpointError(
            f"{name} has checkpoint format version {version}; "
            f"this version of seq2seq reads versions 1 to {FORMAT_VERSION}"
        )
    try:
        fields = checked_fields(payload)
    except (KeyError, TypeError, ValueError) as error:
        message = str(error).strip("'\"") if isinstance(error, KeyError) else str(error)
        raise CheckpointError(f"{name} is damaged: {message[:300]}") from None
    from .replay import loaded_replay  # at call time: the replay reads decodes, and decoding imports this module

    aligns = kind_aligns(fields["config"].attention)
    return Checkpoint(**fields | {"snapshots": loaded_replay(fields["snapshots"], aligns)})


def state_dict_from_v1(state_dict: dict, config: object) -> dict:
    """A version 1 state dict with its attention layers under ``decoder.attention``. The plain encoder-decoder
    (``attention="none"``) had unused attention layers, which version 2 no longer has."""
    plain = isinstance(config, dict) and config.get("attention") == "none"
    moved = {}
    for key, value in state_dict.items():
        parts = str(key).split(".")
        if parts[0] == "decoder" and len(parts) > 2 and parts[1] in V1_ATTENTION_LAYERS:
            if plain:
                continue
            key = ".".join(["decoder", "attention", *parts[1:]])
        moved[key] = value
    return moved
