"""Scoring any answer: the model's teacher-forced log-probability of a candidate reversal, token by token.

The candidate's words are fed to the decoder one by one, as in training, and each step reads off the probability
the model gives the candidate's next token; the last term is the probability of ``<eos>`` after the whole
candidate. A candidate word outside the vocabulary is scored as ``<unk>`` (the model cannot say the word itself; its
copy step would put the attended source word there), so an unknown word costs what saying ``<unk>`` costs.
Scoring the model's own greedy output gives the log-probability greedy decoding reports for it: the model is read
as every decode reads it (``model.writable``), its softmax over the tokens a decoder may write, so a candidate holding
``<pad>`` or ``<sos>`` scores -inf there (no decode can write it) and ``agrees`` never names them.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .batching import make_batch
from .decoding import Reverser
from .model import writable
from .vocab import EOS, UNK


@dataclass
class TokenScore:
    token: str  # the candidate's token (as written), or <eos>
    known: bool  # in the vocabulary (an unknown one is scored as <unk>)
    log_prob: float  # log p(token | source, the candidate's tokens before it)
    model_token: str  # the token the model finds most likely at this step, given the same words before it
    model_log_prob: float  # its log-probability

    @property
    def agrees(self) -> bool:
        """Whether the model's own choice is this token (an unknown word's stand-in, ``<unk>``, counts as it)."""
        return self.model_token == (self.token if self.known else UNK)


@dataclass
class Score:
    source: list[str]
    candidate: list[str]
    tokens: list[TokenScore]  # one per candidate token, then <eos>

    @property
    def log_probs(self) -> list[float]:
        return [token.log_prob for token in self.tokens]

    @property
    def log_prob(self) -> float:
        return sum(self.log_probs)

    @property
    def disagreements(self) -> list[int]:
        """Steps where the model would have said something else."""
        return [i for i, token in enumerate(self.tokens) if not token.agrees]


@torch.inference_mode()
def score_pairs(
    reverser: Reverser, pairs: Sequence[tuple[Sequence[str], Sequence[str]]], batch_size: int = 200
) -> list[Score]:
    """Score each (source tokens, candidate tokens) pair, in order."""
    vocab, model = reverser.vocab, reverser.model
    scores: list[Score] = []
    for start in range(0, len(pairs), batch_size):
        chunk = [(list(source), list(candidate)) for source, candidate in pairs[start : start + batch_size]]
        batch = make_batch([s for s, _ in chunk], vocab, [c for _, c in chunk]).to(reverser.device)
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)  # (B, T, V), teacher forced
        log_probs = torch.log_softmax(writable(logits), dim=2)  # as decoding reads it: no <pad> or <sos>
        chosen = log_probs.gather(2, batch.tgt_out.unsqueeze(2)).squeeze(2).tolist()  # (B, T)
        best = log_probs.max(dim=2)
        best_lp, best_id = best.values.tolist(), best.indices.tolist()
        for row, (source, candidate) in enumerate(chunk):
            written = [*candidate, EOS]
            tokens = [
                TokenScore(tok, tok in vocab, chosen[row][t], vocab.itos[best_id[row][t]], best_lp[row][t])
                for t, tok in enumerate(written)
            ]
            scores.append(Score(source, candidate, tokens))
    return scores
