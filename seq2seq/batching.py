"""Tensors from token lists: encoding, padding and length-bucketed batches."""

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .vocab import EOS_ID, PAD_ID, SOS_ID, Vocabulary


@dataclass
class Batch:
    src: Tensor  # (B, S) source ids followed by <eos>, then padding
    src_lengths: Tensor  # (B,) real source lengths, <eos> included
    tgt_in: Tensor  # (B, T) <sos> + reversed ids: the decoder's inputs under teacher forcing
    tgt_out: Tensor  # (B, T) reversed ids + <eos>: what each step should emit; PAD beyond each row's end

    def to(self, device: torch.device) -> "Batch":
        return Batch(
            *(t.to(device, non_blocking=True) for t in (self.src, self.src_lengths, self.tgt_in, self.tgt_out))
        )

    @property
    def size(self) -> int:
        return self.src.size(0)


def make_batch(
    sources: Sequence[Sequence[str]], vocab: Vocabulary, targets: Sequence[Sequence[str]] | None = None
) -> Batch:
    """Encode sentences (token lists) into one padded batch. The target defaults to each source reversed; training
    augmentation passes its own (the reversal with the same words dropped to ``<unk>``)."""
    if targets is None:
        targets = [list(reversed(s)) for s in sources]
    src_ids = [vocab.encode(s) + [EOS_ID] for s in sources]
    tgt_ids = [vocab.encode(t) for t in targets]
    src_len = max(map(len, src_ids))
    tgt_len = max(map(len, tgt_ids)) + 1
    # Padded Python lists first, then one tensor each: far cheaper than filling a tensor row by row.
    src = [ids + [PAD_ID] * (src_len - len(ids)) for ids in src_ids]
    tgt_in = [[SOS_ID, *ids] + [PAD_ID] * (tgt_len - 1 - len(ids)) for ids in tgt_ids]
    tgt_out = [[*ids, EOS_ID] + [PAD_ID] * (tgt_len - 1 - len(ids)) for ids in tgt_ids]
    return Batch(
        torch.tensor(src, dtype=torch.long),
        torch.tensor([len(ids) for ids in src_ids], dtype=torch.long),
        torch.tensor(tgt_in, dtype=torch.long),
        torch.tensor(tgt_out, dtype=torch.long),
    )


def bucketed_batches(
    sources: Sequence[Sequence[str]],
    vocab: Vocabulary,
    batch_size: int,
    rng: random.Random | None = None,
    targets: Sequence[Sequence[str]] | None = None,
) -> list[Batch]:
    """Batches of sentences of equal (or nearly equal) length, so almost no step works on padding.

    With ``rng`` the sentences are shuffled within each length and the batches come in random order; without it the
    order is deterministic (for evaluation).
    """
    order = list(range(len(sources)))
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: len(sources[i]))  # stable: shuffled within each length
    chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(chunks)
    return [
        make_batch([sources[i] for i in chunk], vocab, None if targets is None else [targets[i] for i in chunk])
        for chunk in chunks
    ]
