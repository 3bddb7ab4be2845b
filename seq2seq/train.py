"""Training: masked cross-entropy, max-norm clipping, teacher forcing, best-by-validation checkpoints.

A ``Trainer`` runs one training run into one run folder. It reports through a single callback, called with a
``Progress`` every ``report_every`` batches and after every validation, and stops when ``stop()`` is called from any
thread; it knows nothing about who is listening (the command line prints, the app draws curves).
"""

import csv
import io
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .augment import examples_per_epoch, training_examples
from .batching import bucketed_batches
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import Config
from .corpus import InputError
from .data import RunData
from .device import resolve_device
from .fileio import FolderLock, atomic_write_text, sweep_stale_temp_files
from .inference import Reverser
from .metrics import Evaluation, evaluate_results
from .model import Seq2Seq
from .optim import Adam
from .records import HISTORY_COLUMNS, HistoryRow, ProgressKind, Snapshot, SnapshotExample, StopReason
from .vocab import PAD_ID

SNAPSHOT_COUNT = 3


@dataclass
class Progress:
    """What the trainer reports: after every ``report_every`` batches, after every validation, and at the end."""

    kind: ProgressKind
    epoch: int
    step: int
    total_steps: int
    train_loss: float
    grad_norm: float
    row: HistoryRow | None = None  # "eval": the history row
    snapshot: Snapshot | None = None  # "eval": the attention snapshot of the watched validation sentences
    message: str = ""  # "end": the closing line
    stop_reason: StopReason | None = None  # "end": why the run ended


@dataclass
class TrainResult:
    checkpoint_path: Path
    history: list[HistoryRow]
    stop_reason: StopReason
    best_valid_loss: float
    test: Evaluation  # the best checkpoint on the test split


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def masked_loss(model: Seq2Seq, batch, teacher_forcing: float) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy per real target token (``<pad>`` never counts), and the number of those tokens."""
    real = batch.tgt_out != PAD_ID  # (B, T)
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing, select=real)  # (N, V)
    return F.cross_entropy(logits, batch.tgt_out[real]), int(real.sum())


def snapshot_sentences(valid: list[list[str]], count: int = SNAPSHOT_COUNT) -> list[list[str]]:
    """A few fixed validation sentences of short, medium and long length whose attention is recorded per evaluation."""
    if not valid:
        return []
    longest = max(map(len, valid))
    wanted = [max(1, round(longest * f)) for f in (0.35, 0.6, 0.9)][:count]
    return [min(valid, key=lambda s: (abs(len(s) - n), s)) for n in wanted]


class Trainer:
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
        self.snapshots: list[Snapshot] = []
        self.tokens_seen = 0  # real target tokens trained on so far: tokens_seen / train_seconds is the throughput
        self.longest_seen = 0  # longest training example, augmentation (joined pairs) included
        self.valid_sentences = data.splits.valid  # what a validation scores: the split, or its first valid_subset

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
        cfg, vocab, splits = self.config, self.data.vocab, self.data.splits
        set_seed(cfg.seed)
        rng = random.Random(cfg.seed)
        model = Seq2Seq(len(vocab), cfg).to(self.device)
        optimizer = Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.valid_sentences = splits.valid[: cfg.valid_subset] if cfg.valid_subset else splits.valid
        valid_batches = [b.to(self.device) for b in bucketed_batches(self.valid_sentences, vocab, 500)]
        reverser = Reverser(model, vocab, copy_unknown=False)
        watched = snapshot_sentences(splits.valid)
        steps_per_epoch = math.ceil(examples_per_epoch(cfg, len(splits.train)) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        eval_at = {round(steps_per_epoch * k / cfg.evals_per_epoch) for k in range(1, cfg.evals_per_epoch + 1)}

        best_loss = math.inf
        stop_reason: StopReason = "epochs"
        step, train_seconds, wall_start = 0, 0.0, time.perf_counter()
        loss_sum = tokens_sum = 0.0
        grad_norm = float("nan")

        def validate_and_keep_best() -> HistoryRow:
            """Validate now, add a history row, and save the model if it is the best so far."""
            nonlocal best_loss, loss_sum, tokens_sum
            wall_seconds = time.perf_counter() - wall_start
            row = self._validate(model, reverser, valid_batches, watched, epoch, step, loss_sum / tokens_sum,
                                 grad_norm, lr, train_seconds, wall_seconds)  # fmt: skip
            loss_sum = tokens_sum = 0.0
            if row["valid_loss"] < best_loss:
                best_loss = row["valid_loss"]
                self._save(model)
            return row

        for epoch in range(1, cfg.epochs + 1):
            sources, targets = training_examples(cfg, splits.train, rng)
            self.longest_seen = max(self.longest_seen, *map(len, sources))
            batches = bucketed_batches(sources, vocab, cfg.batch_size, rng, targets)
            for batch_index, batch in enumerate(batches, start=1):
                started = time.perf_counter()
                model.train()
                lr = cfg.lr * (1 - step / total_steps) if cfg.lr_schedule == "linear" else cfg.lr
                for group in optimizer.param_groups:
                    group["lr"] = lr
                batch = batch.to(self.device)
                loss, tokens = masked_loss(model, batch, cfg.teacher_forcing)
                if not torch.isfinite(loss):
                    stop_reason = "diverged"
                    self.log(f"stopped: the training loss became {loss.item()} at step {step + 1}; try a smaller --lr")
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip or math.inf))
                optimizer.step()
                step += 1
                loss_sum += loss.item() * tokens
                tokens_sum += tokens
                self.tokens_seen += tokens
                train_seconds += time.perf_counter() - started
                if step % self.report_every == 0:
                    self.callback(Progress("batch", epoch, step, total_steps, loss.item(), grad_norm))
                if self._stop.is_set():
                    stop_reason = "stopped"
                    break
                if cfg.max_seconds is not None and train_seconds >= cfg.max_seconds:
                    stop_reason = "max_seconds"
                    break
                if batch_index not in eval_at:
                    continue
                row = validate_and_keep_best()
                snapshot = self.snapshots[-1]
                self.callback(Progress("eval", epoch, step, total_steps, row["train_loss"], grad_norm, row, snapshot))
                if cfg.target_accuracy is not None and row["valid_exact_match"] >= cfg.target_accuracy:
                    stop_reason = "target_accuracy"
                    break
            if stop_reason != "epochs":
                break
        if stop_reason in ("stopped", "max_seconds") and tokens_sum:
            validate_and_keep_best()  # the batches since the last validation count too
        if best_loss == math.inf:
            # No validation saved a model yet: keep what there is, so every run leaves a loadable model of its own.
            self._save(model)
        test = self._finish()
        message = (
            f"done ({stop_reason}): best valid loss {best_loss:.4f}, test {test.summary()}, "
            f"checkpoint {self.checkpoint_path}"
        )
        self.log(message)
        self.callback(
            Progress("end", epoch, step, total_steps, float("nan"), grad_norm, message=message, stop_reason=stop_reason)
        )
        return TrainResult(self.checkpoint_path, self.history, stop_reason, best_loss, test)

    @torch.no_grad()
    def _validate(
        self,
        model,
        reverser,
        valid_batches,
        watched,
        epoch,
        step,
        train_loss,
        grad_norm,
        lr,
        train_seconds,
        wall_seconds,
    ) -> HistoryRow:
        model.eval()
        loss_sum = tokens = 0.0
        for batch in valid_batches:  # scored on the model's own predictions: no teacher forcing
            loss, n = masked_loss(model, batch, teacher_forcing=0.0)
            loss_sum += loss.item() * n
            tokens += n
        results = reverser.reverse_tokens(self.valid_sentences)
        row = HistoryRow(
            epoch=epoch,
            step=step,
            train_loss=round(train_loss, 6),
            valid_loss=round(loss_sum / tokens, 6),
            valid_exact_match=round(sum(r.match for r in results) / len(results), 6),
            grad_norm=round(grad_norm, 6),
            lr=lr,
            train_seconds=round(train_seconds, 3),
            wall_seconds=round(wall_seconds, 3),
        )
        self.history.append(row)
        examples = [
            SnapshotExample(tokens=r.tokens, output=r.output, attention=r.attention)
            for r in reverser.reverse_tokens(watched)
        ]
        self.snapshots.append(Snapshot(epoch=epoch, step=step, examples=examples))
        self._write_history()
        self.log(
            f"epoch {epoch} step {step}: train loss {row['train_loss']:.4f}, valid loss {row['valid_loss']:.4f}, "
            f"valid exact match {row['valid_exact_match']:.4f}, grad norm {row['grad_norm']:.3f}, "
            f"{row['train_seconds']:.1f}s training"
        )
        return row

    def _finish(self) -> Evaluation:
        """Score the best checkpoint on the test split and store the scores, the whole history and every attention
        snapshot in it."""
        checkpoint = load_checkpoint(self.checkpoint_path)
        reverser = Reverser.from_checkpoint(checkpoint, self.config.device)
        evaluation = evaluate_results(reverser.reverse_tokens(self.data.splits.test))
        lengths = [len(s) for s in self.data.splits.train]
        checkpoint.metrics = {
            "test": evaluation.to_dict(),
            "data": {
                "train_sentences": len(lengths),
                "train_min_length": min(lengths),
                "train_max_length": max(lengths),
                "seen_max_length": self.longest_seen,
                "vocabulary_size": len(self.data.vocab),
            },
        }
        checkpoint.history = list(self.history)
        checkpoint.snapshots = list(self.snapshots)
        save_checkpoint(checkpoint, self.checkpoint_path)
        return evaluation

    def _write_history(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history)
        atomic_write_text(self.out_dir / "history.csv", buffer.getvalue())

    def _save(self, model: Seq2Seq) -> None:
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        checkpoint = Checkpoint(
            config=self.config,
            vocab=self.data.vocab,
            state_dict=state,
            history=list(self.history),
            test_sentences=self.data.splits.test,
            snapshots=list(self.snapshots),
        )
        save_checkpoint(checkpoint, self.checkpoint_path)
