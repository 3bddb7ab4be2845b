"""Training, read top to bottom in ``train``: forward, masked loss, backward, clipping, a manual Adam step; every so
often a validation, keeping the best model.

The loop knows nothing about files or listeners: what a run does with its history rows, attention snapshots and best
model comes in through ``RunHooks`` (``seq2seq.run_folder.Trainer``, which the command line and the app both use,
writes them into a run folder).
"""

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from .augment import examples_per_epoch, training_examples
from .batching import Batch, bucketed_batches
from .config import Config
from .data import RunData
from .decoding import Reverser
from .model import Seq2Seq
from .optim import Adam
from .records import HistoryRow, ProgressKind, Snapshot, StopReason
from .replay import moment
from .vocab import PAD_ID

SNAPSHOT_COUNT = 3


@dataclass
class Progress:
    """What a run reports: after every ``report_every`` batches, after every validation, and at the end."""

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


class RunHooks(Protocol):
    """What the training loop tells the run around it."""

    log: Callable[[str], None]  # a line for a person to read

    def report(self, progress: Progress) -> None:
        """A "batch" or "eval" progress."""

    def record(self, row: HistoryRow, snapshot: Snapshot) -> None:
        """A validation's history row and attention snapshot, before the model is kept if it is the best."""

    def save(self, model: Seq2Seq) -> None:
        """The model is the best so far (the lowest validation loss)."""

    def stopping(self) -> bool:
        """Whether the run was asked to stop."""


@dataclass
class Trained:
    """What the loop leaves: the model as it ended, why it ended, and where."""

    model: Seq2Seq
    stop_reason: StopReason
    best_valid_loss: float  # math.inf when no validation ran
    epoch: int
    step: int
    total_steps: int
    grad_norm: float  # of the last step, before clipping
    tokens_seen: int  # real target tokens trained on: tokens_seen / train_seconds is the throughput
    longest_seen: int  # longest training example, augmentation (joined pairs) included


@dataclass
class Validation:
    """What every validation needs, made once before training."""

    sentences: list[list[str]]  # what is scored: the validation split, or its first ``valid_subset`` sentences
    batches: list[Batch]  # those sentences, padded, on the training device: the validation loss
    reverser: Reverser  # greedy decoding with the model in training: the exact match and the snapshots
    watched: list[list[str]]  # a few fixed sentences whose attention is recorded at every validation


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


@torch.no_grad()
def validate(model: Seq2Seq, validation: Validation, epoch: int, step: int) -> tuple[float, float, Snapshot]:
    """The validation loss per real token, scored on the model's own predictions (no teacher forcing), the exact
    match of its greedy reversals, and the replay's moment (``seq2seq.replay.moment``): the watched sentences'
    decodes and attention, the exact match per length and the mirror-peak share of the decodes just scored."""
    model.eval()
    loss_sum = tokens = 0.0
    for batch in validation.batches:
        loss, n = masked_loss(model, batch, teacher_forcing=0.0)
        loss_sum += loss.item() * n
        tokens += n
    results = validation.reverser.reverse_tokens(validation.sentences)
    exact_match = sum(r.match for r in results) / len(results)
    watched = validation.reverser.reverse_tokens(validation.watched)
    return loss_sum / tokens, exact_match, moment(epoch, step, results, watched, model.decoder.attention.aligns)


def train(config: Config, data: RunData, device: torch.device, hooks: RunHooks, report_every: int = 10) -> Trained:
    """Train a model on ``data.splits.train`` as ``config`` says, until the epochs are done or a stop condition holds
    (``stop_reason``). The model is validated ``config.evals_per_epoch`` times an epoch; ``hooks.save`` is called with
    it whenever its validation loss is the lowest yet."""
    cfg, vocab, splits = config, data.vocab, data.splits
    set_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    model = Seq2Seq(len(vocab), cfg).to(device)
    optimizer = Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scored = splits.valid[: cfg.valid_subset] if cfg.valid_subset else splits.valid
    validation = Validation(
        sentences=scored,
        batches=[b.to(device) for b in bucketed_batches(scored, vocab, 500)],
        reverser=Reverser(model, vocab, copy_unknown=False),
        watched=snapshot_sentences(splits.valid),
    )
    steps_per_epoch = math.ceil(examples_per_epoch(cfg, len(splits.train)) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    eval_at = {round(steps_per_epoch * k / cfg.evals_per_epoch) for k in range(1, cfg.evals_per_epoch + 1)}

    best_loss = math.inf
    stop_reason: StopReason = "epochs"
    step, train_seconds, wall_start = 0, 0.0, time.perf_counter()
    loss_sum = tokens_sum = 0.0  # over the batches since the last validation
    grad_norm = float("nan")
    tokens_seen = longest_seen = 0

    def validate_and_keep_best() -> tuple[HistoryRow, Snapshot]:
        """Validate now, record a history row, and save the model if it is the best so far."""
        nonlocal best_loss, loss_sum, tokens_sum
        wall_seconds = time.perf_counter() - wall_start
        valid_loss, exact_match, snapshot = validate(model, validation, epoch, step)
        row = HistoryRow(
            epoch=epoch,
            step=step,
            train_loss=round(loss_sum / tokens_sum, 6),
            valid_loss=round(valid_loss, 6),
            valid_exact_match=round(exact_match, 6),
            grad_norm=round(grad_norm, 6),
            lr=lr,
            train_seconds=round(train_seconds, 3),
            wall_seconds=round(wall_seconds, 3),
        )
        hooks.record(row, snapshot)
        hooks.log(
            f"epoch {epoch} step {step}: train loss {row['train_loss']:.4f}, valid loss {row['valid_loss']:.4f}, "
            f"valid exact match {row['valid_exact_match']:.4f}, grad norm {row['grad_norm']:.3f}, "
            f"{row['train_seconds']:.1f}s training"
        )
        loss_sum = tokens_sum = 0.0
        if row["valid_loss"] < best_loss:
            best_loss = row["valid_loss"]
            hooks.save(model)
        return row, snapshot

    for epoch in range(1, cfg.epochs + 1):
        sources, targets = training_examples(cfg, splits.train, rng)
        longest_seen = max(longest_seen, *map(len, sources))
        batches = bucketed_batches(sources, vocab, cfg.batch_size, rng, targets)
        for batch_index, batch in enumerate(batches, start=1):
            started = time.perf_counter()
            model.train()
            lr = cfg.lr * (1 - step / total_steps) if cfg.lr_schedule == "linear" else cfg.lr
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = batch.to(device)
            loss, tokens = masked_loss(model, batch, cfg.teacher_forcing)
            if not torch.isfinite(loss):
                stop_reason = "diverged"
                hooks.log(f"stopped: the training loss became {loss.item()} at step {step + 1}; try a smaller --lr")
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip or math.inf))
            optimizer.step()
            step += 1
            loss_sum += loss.item() * tokens
            tokens_sum += tokens
            tokens_seen += tokens
            train_seconds += time.perf_counter() - started
            if step % report_every == 0:
                hooks.report(Progress("batch", epoch, step, total_steps, loss.item(), grad_norm))
            if hooks.stopping():
                stop_reason = "stopped"
                break
            if cfg.max_seconds is not None and train_seconds >= cfg.max_seconds:
                stop_reason = "max_seconds"
                break
            if batch_index not in eval_at:
                continue
            row, snapshot = validate_and_keep_best()
            hooks.report(Progress("eval", epoch, step, total_steps, row["train_loss"], grad_norm, row, snapshot))
            if cfg.target_accuracy is not None and row["valid_exact_match"] >= cfg.target_accuracy:
                stop_reason = "target_accuracy"
                break
        if stop_reason != "epochs":
            break
    if stop_reason in ("stopped", "max_seconds") and tokens_sum:
        validate_and_keep_best()  # the batches since the last validation count too
    return Trained(model, stop_reason, best_loss, epoch, step, total_steps, grad_norm, tokens_seen, longest_seen)
