"""Reversing sentences with a trained model, and copying unknown words back through attention."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import torch

from .batching import make_batch
from .checkpoint import Checkpoint, load_checkpoint
from .device import resolve_device
from .model import Seq2Seq
from .tokenize import checked_tokens
from .vocab import UNK, Vocabulary


@dataclass
class Reversal:
    """One sentence through the model: what it saw, what it said, and where it looked."""

    tokens: list[str]  # the input tokens the model saw (unknown ones appear to it as <unk>)
    known: list[bool]  # per input token: is it in the vocabulary?
    output: list[str]  # the model's reversal, with each <unk> replaced by the source token it attended to most
    raw_output: list[str]  # the model's own tokens, <unk> left as it is
    copied: list[bool]  # per output token: was it copied from the source through attention?
    attention: list[list[float]]  # (len(raw_output) + 1) x (len(tokens) + 1): decoder steps incl. <eos> x source

    @property
    def reference(self) -> list[str]:
        return self.tokens[::-1]

    @property
    def match(self) -> bool:
        return self.output == self.reference


def copy_unknowns(
    tokens: Sequence[str], raw_output: Sequence[str], attention: Sequence[Sequence[float]]
) -> tuple[list[str], list[bool]]:
    """Replace each emitted ``<unk>`` with the source token at that step's attention peak.

    The model was trained to say ``<unk>`` where the aligned source word was unknown, so its attention at that step
    points at the word to copy. A peak on the source's ``<eos>`` leaves ``<unk>`` in place.
    """
    output, copied = [], []
    for step, token in enumerate(raw_output):
        if token == UNK:
            peak = max(range(len(attention[step])), key=attention[step].__getitem__)
            if peak < len(tokens):
                output.append(tokens[peak])
                copied.append(True)
                continue
        output.append(token)
        copied.append(False)
    return output, copied


def same_length_rows(sentences: Sequence[Sequence[str]], batch_size: int) -> Iterator[list[int]]:
    """Indices of ``sentences`` in batches of one length each, at most ``batch_size`` long."""
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    for _, same_length in groupby(order, key=lambda i: len(sentences[i])):
        same_length = list(same_length)
        for start in range(0, len(same_length), batch_size):
            yield same_length[start : start + batch_size]


class Reverser:
    """A model ready to reverse sentences. Safe to share between threads: it only reads the model."""

    def __init__(
        self, model: Seq2Seq, vocab: Vocabulary, copy_unknown: bool = True, checkpoint: Checkpoint | None = None
    ) -> None:
        self.model = model
        self._vocab = vocab
        self.copy_unknown = copy_unknown
        self.checkpoint = checkpoint
        self.device = next(model.parameters()).device

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, device: str = "cpu", copy_unknown: bool = True) -> "Reverser":
        return cls(checkpoint.build_model(resolve_device(device)), checkpoint.vocab, copy_unknown, checkpoint)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", copy_unknown: bool = True) -> "Reverser":
        return cls.from_checkpoint(load_checkpoint(path), device, copy_unknown)

    def with_copy(self, copy_unknown: bool) -> "Reverser":
        """The same model with the <unk> copy step switched on or off (for comparing the plain model)."""
        return Reverser(self.model, self._vocab, copy_unknown, self.checkpoint)

    @property
    def vocab(self) -> Vocabulary:
        return self._vocab

    def reverse(self, sentence: str) -> Reversal:
        """Reverse one typed sentence; raises InputError for an empty or over-long one."""
        return self.reverse_tokens([checked_tokens(sentence)])[0]

    def reverse_tokens(self, sentences: Sequence[Sequence[str]], batch_size: int = 500) -> list[Reversal]:
        """Reverse tokenized sentences; results come back in the input order.

        Sentences are decoded in batches of one length each: no row attends over padding or decodes past the others,
        which makes a large mixed set several times faster than one padded batch.
        """
        results: dict[int, Reversal] = {}
        for rows in same_length_rows(sentences, batch_size):
            chunk = [list(sentences[i]) for i in rows]
            batch = make_batch(chunk, self.vocab).to(self.device)
            with torch.inference_mode():
                decoded = self.model.greedy_decode(batch.src, batch.src_lengths)
            tokens, attention = decoded.tokens.tolist(), decoded.attention.tolist()
            for row, (i, words) in enumerate(zip(rows, chunk, strict=True)):
                raw = self.vocab.decode(tokens[row])
                weights = [step[: len(words) + 1] for step in attention[row][: len(raw) + 1]]
                results[i] = self._finish(words, raw, weights)
        return [results[i] for i in range(len(sentences))]

    def _finish(self, words: list[str], raw: list[str], weights: list[list[float]]) -> Reversal:
        if self.copy_unknown and self.model.decoder.attention.aligns:  # a fixed context has no peak to copy from
            output, copied = copy_unknowns(words, raw, weights)
        else:
            output, copied = list(raw), [False] * len(raw)
        return Reversal(words, [w in self.vocab for w in words], output, raw, copied, weights)
