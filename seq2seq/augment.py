"""Training examples per epoch: the training sentences, plus optional augmentation.

Augmentation teaches what plain sentences do not: ``join_share`` adds pairs of training sentences joined into one
(longer than any single sentence, so the decoder learns to keep its place past the usual lengths),
``random_extra_share`` adds random sequences of training words (no grammar to lean on), and ``unk_rate``
drops source words to ``<unk>`` with the aligned target word dropped too, so the model learns to say ``<unk>`` at the
step whose attention points at the unknown word, which decoding then copies (see ``decoding.copy_unknowns``).
"""

import random

from .config import Config
from .vocab import UNK


def examples_per_epoch(config: Config, train_size: int) -> int:
    return train_size + round(config.join_share * train_size) + round(config.random_extra_share * train_size)


def training_examples(
    config: Config, train: list[list[str]], rng: random.Random
) -> tuple[list[list[str]], list[list[str]]]:
    """(sources, targets) for one epoch, augmentation drawn afresh from ``rng``."""
    sources = [list(s) for s in train]
    for _ in range(round(config.join_share * len(train))):
        sources.append(rng.choice(train) + rng.choice(train))
    if config.random_extra_share > 0:
        words = sorted({w for s in train for w in s})
        longest = max(map(len, train))
        for _ in range(round(config.random_extra_share * len(train))):
            sources.append([rng.choice(words) for _ in range(rng.randint(1, longest))])
    targets = []
    for i, source in enumerate(sources):
        if config.unk_rate > 0:
            source = [UNK if rng.random() < config.unk_rate else w for w in source]
            sources[i] = source
        targets.append(source[::-1])
    return sources, targets
