"""The vocabulary: a fixed, ordered list of tokens with four special ones at the front."""

from collections import Counter
from collections.abc import Iterable, Sequence

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIALS = (PAD, SOS, EOS, UNK)
PAD_ID, SOS_ID, EOS_ID, UNK_ID = range(4)

MAX_WORDS = 20_000
"""Most ordinary words a run's vocabulary keeps: the most frequent ones. Rarer words are read as ``<unk>``, which the
model copies back through attention. (A 49 MB upload once made a 2.6-million-word vocabulary: 3.4 GB of memory.)"""


class Vocabulary:
    """Maps tokens to ids and back. ``<pad>`` is id 0, so zero-initialised tensors are padding."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not hold a token twice")
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1, max_words: int = MAX_WORDS) -> "Vocabulary":
        """Build from tokenized (training) sentences, most frequent first, ties broken alphabetically; at most
        ``max_words`` ordinary words (the most frequent)."""
        counts = Counter(tok for sentence in sentences for tok in sentence)
        words = sorted(
            (t for t, c in counts.items() if c >= min_count and t not in SPECIALS), key=lambda t: (-counts[t], t)
        )
        return cls([*SPECIALS, *words[:max_words]])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(tok, UNK_ID) for tok in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to tokens, stopping at the first ``<eos>`` and leaving out padding and ``<sos>``."""
        out = []
        for i in ids:
            if i == EOS_ID:
                break
            if i not in (PAD_ID, SOS_ID):
                out.append(self.itos[i])
        return out

    @property
    def words(self) -> list[str]:
        """The ordinary tokens, without the special ones."""
        return self.itos[len(SPECIALS) :]
