"""A training run into one run folder: the layer around the loop in ``seq2seq.train`` that the command line and the
app's worker both use.

A ``Trainer`` holds the folder's lock for the whole run, sweeps the temporary files a killed run left, keeps
``history.csv`` and ``model.pt`` (the best model so far, with every history row and the run's replay) up to date,
and at the end scores the best model on the test split and stores the scores in it. It reports through a single
callback, called with a ``Progress`` every ``report_every`` batches, after every validation and at the end, and stops
when ``stop()`` is called from any thread; it knows nothing about who is listening (the command line prints, the app
draws curves).
"""

import csv
import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import Config
from .corpus import InputError
from .data import RunData
from .decoding import Reverser
from .device import resolve_device
from .evaluation import evaluate_sentences
from .fileio import FolderLock, atomic_write_text, sweep_stale_temp_files
from .metrics import Evaluation
from .model import Seq2Seq
from .records import HISTORY_COLUMNS, HistoryRow, Snapshot, StopReason
from .replay import Thinning
from .train import Progress, train


@dataclass
class TrainResult:
    checkpoint_path: Path
    history: list[HistoryRow]
    stop_reason: StopReason
    best_valid_loss: float
    test: Evaluation  # the best checkpoint on the test split
    tokens_seen: int  # real target tokens trained on


class Trainer:
    """One training run into ``out_dir``; it is the loop's ``RunHooks``."""

    def __init__(
        self,
        config: Config,
        data: RunData,
        out_dir: str | Path,
        callback: Callable[[Progress], None] | None = None,
        report_every: int = 10,
        log: Callable[[str], None] = print,
    ) -> None:
        if not data.splits.train:
            raise InputError("there are no training sentences left after removing those in the valid and test sets")
        self.config = config
        self.data = data
        self.out_dir = Path(out_dir)
        self.callback = callback or (lambda progress: None)
        self.report_every = report_every
        self.log = log
        self.device = resolve_device(config.device)
        self._stop = threading.Event()
        self.history: list[HistoryRow] = []
        self.replay = Thinning()  # the moments kept, evenly thinned within the checkpoint's limits

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / "model.pt"

    def stop(self) -> None:
        """Ask the run to stop after the current batch; the best checkpoint so far stays."""
        self._stop.set()

    def run(self) -> TrainResult:
        """Train, holding the run folder's lock throughout: a second run into the same folder, from this process or
        another, is refused with FolderBusyError. The history starts empty, so the folder never pairs a new model
        with an earlier run's history."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with FolderLock(self.out_dir):
            sweep_stale_temp_files(self.out_dir)  # left by a process killed in the middle of a write
            self._write_history()
            return self._run()

    def _run(self) -> TrainResult:
        trained = train(self.config, self.data, self.device, self, self.report_every)
        if trained.best_valid_loss == math.inf:
            # No validation saved a model yet: keep what there is, so every run leaves a loadable model of its own.
            self.save(trained.model)
        test = self._finish(trained.longest_seen)
        message = (
            f"done ({trained.stop_reason}): best valid loss {trained.best_valid_loss:.4f}, test {test.summary()}, "
            f"checkpoint {self.checkpoint_path}"
        )
        self.log(message)
        self.callback(
            Progress(
                "end",
                trained.epoch,
                trained.step,
                trained.total_steps,
                float("nan"),
                trained.grad_norm,
                message=message,
                stop_reason=trained.stop_reason,
            )
        )
        return TrainResult(
            self.checkpoint_path, self.history, trained.stop_reason, trained.best_valid_loss, test, trained.tokens_seen
        )

    # ----------------------------------------------------------------------------------------- the loop's RunHooks
    def report(self, progress: Progress) -> None:
        self.callback(progress)

    def record(self, row: HistoryRow, snapshot: Snapshot) -> None:
        self.history.append(row)
        self.replay.add(snapshot)
        self._write_history()

    def save(self, model: Seq2Seq) -> None:
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        checkpoint = Checkpoint(
            config=self.config,
            vocab=self.data.vocab,
            state_dict=state,
            history=list(self.history),
            test_sentences=self.data.splits.test,
            snapshots=self.replay.moments,
        )
        save_checkpoint(checkpoint, self.checkpoint_path)

    def stopping(self) -> bool:
        return self._stop.is_set()

    # ------------------------------------------------------------------------------------------------- the folder
    def _finish(self, longest_seen: int) -> Evaluation:
        """Score the best checkpoint on the test split and store the scores, the whole history and the replay in it."""
        checkpoint = load_checkpoint(self.checkpoint_path)
        reverser = Reverser.from_checkpoint(checkpoint, self.config.device)
        evaluation = evaluate_sentences(reverser, self.data.splits.test).evaluation
        lengths = [len(s) for s in self.data.splits.train]
        checkpoint.metrics = {
            "test": evaluation.to_dict(),
            "data": {
                "train_sentences": len(lengths),
                "train_min_length": min(lengths),
                "train_max_length": max(lengths),
                "seen_max_length": longest_seen,
                "vocabulary_size": len(self.data.vocab),
            },
        }
        checkpoint.history = list(self.history)
        checkpoint.snapshots = self.replay.moments
        save_checkpoint(checkpoint, self.checkpoint_path)
        return evaluation

    def _write_history(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history)
        atomic_write_text(self.out_dir / "history.csv", buffer.getvalue())
