"""Decoding: every way this project turns a source into words, in one loop, and the ``Reverser`` that serves it.

One search loop serves everything: the command line, the app, the trainer's validation and test scoring, the stress
suites and the metrics. It runs B sentences times K beams as one batch of B·K rows through the model's public step
(``Seq2Seq.decode_step``), so a beam of 1 is greedy decoding, and the Decoder page's "what if" is the same loop with
a word, or one step's attention, forced:

- at each step every live hypothesis is extended by every word; per sentence the 2K best extensions are taken, an
  ``<eos>`` among the first K finishes a hypothesis, and the K best others stay live;
- hypotheses are ranked by their total log-probability, the ``<eos>`` term included (``length_penalty`` > 0 divides
  it by GNMT's ((5 + length) / 6) ** penalty instead; off by default);
- a sentence stops once no live hypothesis can still beat its n-th best finished one (log-probabilities only fall as
  a hypothesis grows, so this loses nothing), or at its length cap (source length + ``margin``; the reference length
  is never used), where the live hypotheses end without ``<eos>``;
- for a beam wider than one, the greedy hypothesis is put in the pool too, so widening the beam never returns a less
  probable answer than greedy (plain beam search can prune the greedy path early and, rarely, end lower).

No decode writes ``<pad>`` or ``<sos>`` (``model.writable``): each output token is one decoder step, and one attention
row. A forced word can be any other token (``forced_word_id``): ``<eos>`` ends the output at that step ("what if it
stopped here"), so nothing can be forced after it; ``<unk>`` is what the model writes for a word it does not know, and
the copy step (``copy_unknowns``, the one place it happens) puts the source word its attention peaks on in its place.

Three result types: ``Reversal``, one sentence in words for users (with its n-best list, each entry a ``Reversal``);
``Hypothesis``, one answer of the search in token ids; and the ``StepRecord``s a recorded search keeps for the best
hypothesis of each sentence (its top words, the weights, the energy term by term), with, per step, which hypotheses
the beam kept, finished or dropped (``BeamEntry``).
"""

from collections.abc import Iterator, Mapping, Sequence
from copy import copy as shallow_copy
from dataclasses import dataclass, field, fields, replace
from itertools import groupby
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from .batching import make_batch
from .checkpoint import Checkpoint, load_checkpoint
from .device import resolve_device
from .model import UNWRITABLE, EncoderOutput, Seq2Seq, writable
from .tokenize import MAX_SENTENCE_TOKENS, InputError, checked_tokens, echo
from .vocab import EOS_ID, SOS_ID, UNK, Vocabulary

TOP_K = 5
MAX_BEAM = 20


def forced_word_id(word: str, vocab: Vocabulary) -> int:
    """The id of a word the learner forces; InputError, in one line, for one no decoder can write."""
    if word in vocab and vocab.stoi[word] in UNWRITABLE:
        raise InputError(f"{word} cannot be forced: no decode writes it (it only pads a batch or starts the decoder)")
    if word not in vocab:
        raise InputError(f"the word {echo(word)} is not in the model's vocabulary")
    return vocab.stoi[word]


def check_forcing(forcing: "Forcing") -> None:
    """Raise ValueError for forced words no decode could write: ``<pad>``, ``<sos>``, or any word after an ``<eos>``."""
    if any(token in UNWRITABLE for token in forcing.words.values()):
        raise ValueError("<pad> and <sos> cannot be forced: no decode writes them")
    ends = [step for step, token in forcing.words.items() if token == EOS_ID]
    if ends and max(forcing.words) > min(ends):
        raise ValueError(f"a word is forced after the <eos> forced at step {min(ends) + 1}: nothing follows an <eos>")


def has_attention(model: Seq2Seq) -> bool:
    """Whether the model's weights say where it looked (False for kinds whose context ignores the query)."""
    return model.decoder.attention.aligns


# ------------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Forcing:
    """What to override while decoding: words at chosen steps (0-based step -> token id), and one step's attention
    put entirely on one source position (step, position; positions count the source's ``<eos>`` last)."""

    words: Mapping[int, int] = field(default_factory=dict)
    attention: tuple[int, int] | None = None


@dataclass
class Candidate:
    word: str
    prob: float


@dataclass
class EnergyBreakdown:
    """One step's energies e_ij = v_a^T tanh(W_a s + U_a h_j [+ U_f (F*alpha)_j]), term by term, per source position.

    Each term is a vector inside the tanh; shown here is its projection on v_a (v_a^T · term), a number per position.
    Their sum is what the energy would be without the tanh; the tanh squashes it, so the parts do not add up to the
    energy exactly. ``query`` is the same at every position: on its own it cannot move the peak."""

    query: list[float] | None  # v_a^T W_a s_{i-1}, repeated per position; None without a query term
    keys: list[float]  # v_a^T U_a h_j
    location: list[float] | None  # v_a^T U_f (F * alpha_{i-1})_j; None without a location term
    energies: list[float]  # e_ij
    weights: list[float]  # softmax_j(e_ij): the weights the model computed (before any forcing)


@dataclass
class StepRecord:
    """One decoder step of a hypothesis."""

    step: int  # 0-based
    token: str  # the token written (the model's own: <unk> is not yet replaced by the copy step), or <eos>
    log_prob: float  # log p(token | everything before)
    top: list[Candidate]  # the model's TOP_K most likely tokens at this step
    eos_prob: float  # p(<eos> | everything before): how much the model wants to stop here
    weights: list[float]  # alpha_i over the source positions (tokens, then <eos>), as used (forced ones too)
    forced: Literal["word", "attention"] | None  # what the learner forced at this step
    energy: EnergyBreakdown | None  # None for kinds that do not attend

    @property
    def prob(self) -> float:
        return float(torch.tensor(self.log_prob).exp())


@dataclass
class BeamEntry:
    words: list[str]  # the hypothesis so far, this step's token last
    log_prob: float
    status: Literal["kept", "finished", "dropped"]


@dataclass
class Hypothesis:
    """One answer the search found for one sentence, in token ids: an entry of its n-best list."""

    ids: list[int]  # token ids, <eos> included when it ended
    token_log_probs: list[float]  # one per id
    log_prob: float  # their sum
    score: float  # what ranks it: log_prob, or log_prob over the length penalty
    attention: list[list[float]]  # one row per id, one column per source position
    ended: bool  # False when it stopped at the length cap
    # Recorded searches only, for the best hypothesis of each sentence:
    steps: list[StepRecord] = field(default_factory=list)  # one per id
    beam_steps: list[list[BeamEntry]] = field(default_factory=list)  # per step: what the beam weighed, and did


@dataclass
class Reversal:
    """One sentence through the model: what it saw, what it said, and where it looked."""

    tokens: list[str]  # the input tokens the model saw (unknown ones appear to it as <unk>)
    known: list[bool]  # per input token: is it in the vocabulary?
    output: list[str]  # the model's reversal, with each <unk> replaced by the source token it attended to most
    raw_output: list[str]  # the model's own tokens, <unk> left as it is
    copied: list[bool]  # per output token: was it copied from the source through attention?
    attention: list[list[float]]  # (len(raw_output) + 1) x (len(tokens) + 1): decoder steps incl. <eos> x source
    found: Hypothesis | None = None  # the search's answer in ids: log-probabilities, score, recorded steps
    hypotheses: list["Reversal"] = field(default_factory=list)  # the n-best list in words, this answer first

    @property
    def reference(self) -> list[str]:
        return self.tokens[::-1]

    @property
    def match(self) -> bool:
        return self.output == self.reference


# ------------------------------------------------------------------------------------------------- search
@dataclass
class _Final:
    step: int
    candidate: int  # index into that step's 2K candidates
    log_prob: float
    ended: bool


@dataclass
class _History:
    """What each step of a search decided; hypotheses are read back by walking the parents.

    Kept as tensors while the loop runs; ``freeze`` then turns each into one flat list per sentence (a fully
    nested ``tolist`` builds a Python list per row and step, which costs more than the decoding itself for a large
    batch). The readers index those lists: [b][t * width + i]; a beam of 1 reads a sentence's words as a slice."""

    parent: list = field(default_factory=list)  # (B, C) per step: the live beam each of the C candidates extends
    word: list = field(default_factory=list)  # (B, C) its word
    token_lp: list = field(default_factory=list)  # (B, C) log p of that word
    order: list = field(default_factory=list)  # (B, K) the candidate each new live beam is
    alpha: list = field(default_factory=list)  # (B, K, S) the weights each beam was extended with
    candidates: int = 0  # C: 2K, or 1 for a beam of 1
    beams: int = 0  # K
    positions: int = 0  # S
    # Recorded only:
    state: list[Tensor] = field(default_factory=list)  # (B, K, H) each beam's query state
    alpha_in: list[Tensor] = field(default_factory=list)  # (B, K, S) its previous weights
    top_lp: list[Tensor] = field(default_factory=list)  # (B, K, TOP_K)
    top_id: list[Tensor] = field(default_factory=list)  # (B, K, TOP_K)
    eos_lp: list[Tensor] = field(default_factory=list)  # (B, K) log p(<eos>)
    outcome: list[tuple[Tensor, Tensor, Tensor]] = field(default_factory=list)  # (B, C) each: totals, kept, finished

    def add(self, parent: Tensor, word: Tensor, token_lp: Tensor, order: Tensor, alpha: Tensor) -> None:
        self.parent.append(parent)
        self.word.append(word)
        self.token_lp.append(token_lp)
        self.order.append(order)
        self.alpha.append(alpha)

    def add_record(self, state: Tensor, alpha_in: Tensor, log_probs: Tensor) -> None:
        self.state.append(state)
        self.alpha_in.append(alpha_in)
        top = log_probs.topk(min(TOP_K, log_probs.size(-1)), dim=-1)
        self.top_lp.append(top.values)
        self.top_id.append(top.indices)
        self.eos_lp.append(log_probs[..., EOS_ID])

    def freeze(self) -> None:
        """Once the loop is over: each sentence's tensors as one flat list (see the class's text)."""
        self.candidates, self.beams, self.positions = self.word[0].size(1), self.order[0].size(1), self.alpha[0].size(2)
        for name in ("parent", "word", "token_lp", "order", "alpha"):
            setattr(self, name, torch.stack(getattr(self, name), dim=1).flatten(1).tolist())  # (B, T·...)

    def path(self, b: int, final: _Final) -> tuple[list[int], list[int], list[int]]:
        """(steps, beams extended, candidates) of a hypothesis ending at ``final``, first step first."""
        c, k = self.candidates, self.beams
        steps, beams, candidates = [], [], []
        t, r = final.step, final.candidate
        while t >= 0:
            p = self.parent[b][t * c + r]
            steps.append(t)
            beams.append(p)
            candidates.append(r)
            if t > 0:
                r = self.order[b][(t - 1) * k + p]
            t -= 1
        return steps[::-1], beams[::-1], candidates[::-1]

    def word_at(self, t: int, b: int, r: int) -> int:
        return self.word[b][t * self.candidates + r]

    def token_lp_at(self, t: int, b: int, r: int) -> float:
        return self.token_lp[b][t * self.candidates + r]

    def weights_at(self, t: int, b: int, p: int) -> list[float]:
        start = (t * self.beams + p) * self.positions
        return self.alpha[b][start : start + self.positions]

    def ids(self, b: int, final: _Final) -> tuple[int, ...]:
        steps, _, candidates = self.path(b, final)
        return tuple(self.word_at(t, b, r) for t, r in zip(steps, candidates, strict=True))

    def hypothesis(self, b: int, final: _Final, length_penalty: float) -> Hypothesis:
        """The hypothesis ending at ``final``, read in one walk back along its parents (as ``path``, inlined: this
        runs for every sentence of every batch)."""
        c, k, s = self.candidates, self.beams, self.positions
        word, token_lp, alpha = self.word[b], self.token_lp[b], self.alpha[b]
        if k == 1:  # one candidate per step: the hypothesis is the sentence's first steps
            n = final.step + 1
            ids, lps = word[:n], token_lp[:n]
            attention = [alpha[t * s : (t + 1) * s] for t in range(n)]
        else:
            ids, lps, attention = [], [], []
            parent, order = self.parent[b], self.order[b]
            t, r = final.step, final.candidate
            while t >= 0:
                i = t * c + r
                p = parent[i]
                ids.append(word[i])
                lps.append(token_lp[i])
                first = (t * k + p) * s  # where its weights start in the sentence's flat list
                attention.append(alpha[first : first + s])
                if t > 0:
                    r = order[(t - 1) * k + p]
                t -= 1
            ids.reverse()
            lps.reverse()
            attention.reverse()
        log_prob = sum(lps)
        return Hypothesis(ids, lps, log_prob, rank_score(log_prob, len(ids), length_penalty), attention, final.ended)

    def beam_steps(self, b: int, vocab: Vocabulary) -> list[list[BeamEntry]]:
        """Sentence b's candidates at each step, best first, and what the beam did with each (-inf ones left out)."""
        steps = []
        for t, (values, keep, finish) in enumerate(self.outcome):
            entries = []
            for r, total in enumerate(values[b].tolist()):
                if total == float("-inf"):
                    continue
                p = self.parent[b][t * self.candidates + r]
                prefix = (
                    () if t == 0 else self.ids(b, _Final(t - 1, self.order[b][(t - 1) * self.beams + p], 0.0, False))
                )
                words = [vocab.itos[i] for i in [*prefix, self.word_at(t, b, r)]]
                status = "finished" if finish[b, r] else "kept" if keep[b, r] else "dropped"
                entries.append(BeamEntry(words, total, status))
            steps.append(entries)
        return steps


def _rows(enc: EncoderOutput, index: Tensor) -> EncoderOutput:
    """The encoder output of the rows ``index`` (repeated for beams, or one picked out): every tensor field."""
    picked = {f.name: getattr(enc, f.name)[index] for f in fields(enc) if isinstance(getattr(enc, f.name), Tensor)}
    return replace(enc, **picked)


def rank_score(log_prob: float, length: int, length_penalty: float) -> float:
    return log_prob if not length_penalty else log_prob / ((5 + length) / 6) ** length_penalty


def check_options(beam: int, n_best: int, length_penalty: float) -> None:
    """Raise ValueError, naming the setting and its range, for a search setting out of bounds."""
    if not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"beam must be between 1 and {MAX_BEAM}, not {beam}")
    if not 1 <= n_best <= beam:
        raise ValueError(f"n-best must be between 1 and the beam ({beam}), not {n_best}")
    if not 0 <= length_penalty <= 10:  # also refuses NaN
        raise ValueError(f"length penalty must be between 0 and 10, not {length_penalty}")


@torch.inference_mode()
def search(
    model: Seq2Seq,
    src: Tensor,
    src_lengths: Tensor,
    beam: int = 1,
    n_best: int = 1,
    margin: int = 5,
    length_penalty: float = 0.0,
    forcing: Forcing | None = None,
    vocab: Vocabulary | None = None,
) -> list[list[Hypothesis]]:
    """Decode a batch (B, S) of sources: per sentence its ``n_best`` hypotheses, best first (see the module's text).
    Given ``vocab``, the best hypothesis of each sentence is recorded too (``Hypothesis.steps``, ``.beam_steps``)."""
    check_options(beam, n_best, length_penalty)
    forcing = forcing or Forcing()
    check_forcing(forcing)
    if forcing.attention is not None and not has_attention(model):
        raise ValueError("this model does not attend: there are no attention weights to force")
    run = _Run(model, model.encode(src, src_lengths), src_lengths, margin, length_penalty, forcing, vocab)
    history, pools = run.search(beam, n_best)
    if beam > 1:  # the greedy answer joins the pool: a wider beam is never worse than greedy
        _, greedy = run.search(1, 1)
        pools = [_merge(b, wide, narrow, n_best) for b, (wide, narrow) in enumerate(zip(pools, greedy, strict=True))]
    results = []
    for b, pool in enumerate(pools):
        hypotheses = [entry.history.hypothesis(b, entry.final, length_penalty) for entry in pool]
        if vocab is not None:
            hypotheses[0].steps = run.steps(b, pool[0])
            hypotheses[0].beam_steps = history.beam_steps(b, vocab)
        results.append(hypotheses)
    return results


@dataclass
class _Entry:
    """A finished hypothesis in a pool: the search that found it, where, and its ranking score."""

    history: _History
    final: _Final
    score: float


def _merge(b: int, wide: list[_Entry], narrow: list[_Entry], n_best: int) -> list[_Entry]:
    """Sentence b's pools of two searches as one, best first, each answer once."""
    kept, seen = [], set()
    for entry in sorted([*wide, *narrow], key=lambda e: -e.score):
        ids = entry.history.ids(b, entry.final)
        if ids not in seen:
            seen.add(ids)
            kept.append(entry)
    return kept[:n_best]


class _Run:
    """One batch's search state shared by its beam and greedy passes: the encoding, the caps, the forcing."""

    def __init__(
        self,
        model: Seq2Seq,
        enc: EncoderOutput,
        src_lengths: Tensor,
        margin: int,
        length_penalty: float,
        forcing: Forcing,
        vocab: Vocabulary | None,
    ) -> None:
        self.model, self.enc, self.forcing, self.vocab = model, enc, forcing, vocab
        self.length_penalty = length_penalty
        last_forced = max([*forcing.words, forcing.attention[0] if forcing.attention else -1, -1])
        self.limits = [max(n + margin, last_forced + 2) for n in src_lengths.tolist()]  # steps per sentence
        self.capped_at: dict[int, list[int]] = {}  # step -> the sentences whose cap it is
        for b, limit in enumerate(self.limits):
            self.capped_at.setdefault(limit - 1, []).append(b)

    def score(self, final: _Final) -> float:
        return rank_score(final.log_prob, final.step + 1, self.length_penalty)

    def search(self, k: int, n_best: int) -> tuple[_History, list[list[_Entry]]]:
        """The loop, over B·K rows. Returns its history and, per sentence, its n_best finished hypotheses."""
        model, enc, forcing = self.model, self.enc, self.forcing
        batch, device, inf = len(self.limits), enc.annotations.device, float("inf")
        enc_k = enc if k == 1 else _rows(enc, torch.arange(batch, device=device).repeat_interleave(k))  # (B·K, ...)
        scores = torch.full((batch, k), -inf, device=device)
        scores[:, 0] = 0.0  # one live hypothesis to begin with
        tokens = torch.full((batch * k,), SOS_ID, dtype=torch.long, device=device)
        state, alpha = enc_k.initial_state, model.no_weights(enc_k)
        coverage = alpha if model.decoder.reads_coverage else None  # (B·K, S): the weights of the steps before
        table = model.input_table()
        history = _History()
        finals: list[list[_Final]] = [[] for _ in range(batch)]
        done = torch.zeros(batch, dtype=torch.bool, device=device)
        threshold = torch.full((batch,), -inf, device=device)  # the score a live hypothesis must beat, per sentence
        offsets = (torch.arange(batch, device=device) * k).unsqueeze(1)  # (B, 1)
        first_k = torch.arange(2 * k, device=device) < k  # (2K,) the candidates whose <eos> finishes
        no_parent = torch.zeros(batch, 1, dtype=torch.long, device=device)  # a beam of 1 only extends beam 0
        cap_step = torch.tensor(self.limits, device=device) - 1  # (B,) each sentence's last step
        first_cap = min(self.limits) - 1
        for t in range(max(self.limits)):
            forced_weights = None
            if forcing.attention is not None and forcing.attention[0] == t:
                forced_weights = torch.zeros_like(alpha)  # (B·K, S)
                forced_weights[:, min(forcing.attention[1], alpha.size(1) - 1)] = 1.0
            new_state, new_alpha, logits = model.decode_step(
                enc_k, table, tokens, state, alpha, forced_weights, coverage
            )
            log_probs = torch.log_softmax(writable(logits), dim=1)  # (B·K, V), -inf for <pad> and <sos>
            vocab_size = log_probs.size(1)
            allowed = log_probs
            if t in forcing.words:
                allowed = torch.full_like(log_probs, -inf)
                allowed[:, forcing.words[t]] = log_probs[:, forcing.words[t]]
            if k == 1:  # greedy: each row's best word is its one candidate; nothing to rank, keep or reorder
                token_lp, word = allowed.max(dim=1, keepdim=True)  # (B, 1)
                parent = order = no_parent
                if self.vocab is not None:  # the beam view of a beam of 1, recorded
                    values = scores + token_lp  # (B, 1)
                    finish = (word == EOS_ID) & (values > -inf)
                    keep = (values > -inf) & ~finish
                    scores = torch.where(keep, values, -inf)
            else:
                total = (scores.reshape(-1, 1) + allowed).view(batch, k * vocab_size)  # (B, K·V)
                values, index = total.topk(min(2 * k, k * vocab_size), dim=1)  # (B, 2K), best first
                parent, word = index // vocab_size, index % vocab_size
                token_lp = log_probs.view(batch, -1).gather(1, index)  # (B, 2K)
                finite = values > -inf
                ended = word == EOS_ID
                finish = ended & finite & first_k[: values.size(1)]  # an <eos> among the first K finishes
                live = ~ended & finite
                keep = live & (live.cumsum(dim=1) <= k)
                order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :k]  # (B, K) kept candidates
                scores = torch.where(keep.gather(1, order), values.gather(1, order), -inf)  # (B, K)
            history.add(parent, word, token_lp, order, new_alpha.view(batch, k, -1))
            if self.vocab is not None:
                query_state = new_state if model.decoder.query_current else state
                history.add_record(
                    query_state.view(batch, k, -1), alpha.view(batch, k, -1), log_probs.view(batch, k, -1)
                )
            if self.vocab is not None:
                history.outcome.append((values, keep, finish))
            if k == 1:  # a row ends at its first <eos> or at its cap; where, is read from the words after the loop
                done |= word[:, 0] == EOS_ID
                if t >= first_cap:
                    done |= cap_step <= t
            else:
                self._settle(t, finals, finish, values, order, scores, done, threshold, k, n_best)
                done |= scores.amax(dim=1) <= threshold  # no live hypothesis can still matter (or none is left)
            if bool(done.all()):
                break
            if k > 1 or self.vocab is not None:
                scores = scores.masked_fill(done.unsqueeze(1), -inf)
            if k == 1:
                state, alpha, tokens = new_state, new_alpha, word.flatten()
                coverage = None if coverage is None else coverage + new_alpha
            else:
                rows = (offsets + parent.gather(1, order)).flatten()  # (B·K,) the row each live beam continues
                state, alpha, tokens = new_state[rows], new_alpha[rows], word.gather(1, order).flatten()
                coverage = None if coverage is None else (coverage + new_alpha)[rows]
        history.freeze()
        if k == 1:
            self._greedy_finals(history, finals)
        pools = []
        for b in range(batch):
            ranked = sorted(finals[b], key=lambda f: -self.score(f))[:n_best]
            pools.append([_Entry(history, f, self.score(f)) for f in ranked])
        return history, pools

    def _greedy_finals(self, history: "_History", finals: list[list[_Final]]) -> None:
        """A beam of 1's endings, read from its frozen words once the loop is over: each row ends at its first
        ``<eos>``, or else at its cap, with the log-probability of its words up to there."""
        for b, (words, token_lps, limit) in enumerate(zip(history.word, history.token_lp, self.limits, strict=True)):
            last = min(limit, len(words)) - 1
            end = words.index(EOS_ID, 0, last + 1) if EOS_ID in words[: last + 1] else last
            finals[b].append(_Final(end, 0, sum(token_lps[: end + 1]), words[end] == EOS_ID))

    def _settle(
        self,
        t: int,
        finals: list[list[_Final]],
        finish: Tensor,
        values: Tensor,
        order: Tensor,
        scores: Tensor,
        done: Tensor,
        threshold: Tensor,
        k: int,
        n_best: int,
    ) -> None:
        """Step t's endings, per sentence still searching: hypotheses that wrote ``<eos>``, then, at a sentence's
        cap, its live ones (they end without ``<eos>``). Updates ``finals``, ``done`` and ``threshold`` in place.
        Reads the tensors into lists once, and only at steps where something ends."""
        ending = finish.nonzero().tolist()  # [(sentence, candidate)]
        capped = self.capped_at.get(t, [])
        if not ending and not capped:
            return
        searching = (~done).tolist()
        c, totals = values.size(1), values.flatten().tolist()  # flat: [b * C + r]
        changed = sorted({b for b, _ in ending if searching[b]})
        for b, r in ending:
            if searching[b]:
                finals[b].append(_Final(t, r, totals[b * c + r], True))
        capped = [b for b in capped if searching[b]]
        if capped:
            live, kept = scores.tolist(), order.tolist()
            for b in capped:
                finals[b] += [
                    _Final(t, candidate, live[b][i], False)
                    for i, candidate in enumerate(kept[b])
                    if live[b][i] > float("-inf")
                ]
            done[capped] = True
        if changed:
            bounds = [self._threshold(finals[b], k, n_best) for b in changed]
            threshold[changed] = torch.tensor(bounds, dtype=threshold.dtype, device=threshold.device)

    def _threshold(self, finals: list[_Final], k: int, n_best: int) -> float:
        """What a live hypothesis must beat to matter: the n-th best finished log-prob (a live one only loses
        probability as it grows). Under a length penalty that bound does not hold: stop at K finished instead."""
        if self.length_penalty:
            return float("inf") if len(finals) >= k else float("-inf")
        ranked = sorted((f.log_prob for f in finals), reverse=True)
        return ranked[n_best - 1] if len(ranked) >= n_best else float("-inf")

    def steps(self, b: int, entry: _Entry) -> list[StepRecord]:
        """The records of one hypothesis: per step its token, top words, weights and energy term by term."""
        history, vocab = entry.history, self.vocab
        assert vocab is not None
        steps, beams, candidates = history.path(b, entry.final)
        energies = self._energies(history, b, steps, beams)
        records = []
        for i, (t, p, r) in enumerate(zip(steps, beams, candidates, strict=True)):
            forced = "word" if t in self.forcing.words else None
            if self.forcing.attention is not None and self.forcing.attention[0] == t:
                forced = "attention"
            top = [
                Candidate(vocab.itos[w], float(torch.tensor(lp).exp()))
                for w, lp in zip(history.top_id[t][b, p].tolist(), history.top_lp[t][b, p].tolist(), strict=True)
            ]
            records.append(
                StepRecord(
                    step=t,
                    token=vocab.itos[history.word_at(t, b, r)],
                    log_prob=history.token_lp_at(t, b, r),
                    top=top,
                    eos_prob=float(history.eos_lp[t][b, p].exp()),
                    weights=history.weights_at(t, b, p),
                    forced=forced,
                    energy=energies[i] if energies else None,
                )
            )
        return records

    def _energies(self, history: _History, b: int, steps: list[int], beams: list[int]) -> list[EnergyBreakdown]:
        """Each step's energy term by term, all steps in one call (none for kinds that do not attend)."""
        model = self.model
        if not has_attention(model):
            return []
        n = len(steps)
        states = torch.stack([history.state[t][b, p] for t, p in zip(steps, beams, strict=True)])  # (T, H)
        previous = torch.stack([history.alpha_in[t][b, p] for t, p in zip(steps, beams, strict=True)])  # (T, S)
        enc = _rows(self.enc, torch.full((n,), b, dtype=torch.long, device=states.device))
        terms = model.decoder.attention_terms(states, previous, enc)
        v = model.decoder.attention.energy.weight[0]  # (A,) v_a
        query = (terms.query @ v).unsqueeze(1).expand(n, previous.size(1)).tolist()  # (T, S)
        if not model.decoder.attention.reads_query:
            query = [None] * n
        keys = terms.keys @ v  # (T, S)
        location = None if terms.location is None else (terms.location @ v).tolist()
        return [
            EnergyBreakdown(
                query=query[i],
                keys=keys[i].tolist(),
                location=None if location is None else location[i],
                energies=terms.energies[i].tolist(),
                weights=terms.weights[i].tolist(),
            )
            for i in range(n)
        ]


# ------------------------------------------------------------------------------------------------- sentences
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
    """A model ready to reverse sentences, with its search settings: a beam (1, the default, is greedy decoding),
    an n-best list, a length penalty and a forced prefix. Safe to share between threads: it only reads the model."""

    def __init__(
        self,
        model: Seq2Seq,
        vocab: Vocabulary,
        copy_unknown: bool = True,
        checkpoint: Checkpoint | None = None,
        beam: int = 1,
        n_best: int = 1,
        length_penalty: float = 0.0,
        prefix: Sequence[str] = (),
    ) -> None:
        check_options(beam, n_best, length_penalty)
        if len(prefix) > MAX_SENTENCE_TOKENS:
            raise InputError(f"the prefix has {len(prefix)} tokens; the limit is {MAX_SENTENCE_TOKENS}")
        try:
            self.prefix = {step: forced_word_id(word, vocab) for step, word in enumerate(prefix)}
            check_forcing(Forcing(self.prefix))
        except (InputError, ValueError) as error:
            raise InputError(f"the prefix: {error}") from None
        self.model = model
        self._vocab = vocab
        self.copy_unknown = copy_unknown
        self.checkpoint = checkpoint
        self.beam, self.n_best, self.length_penalty = beam, n_best, length_penalty
        self.device = next(model.parameters()).device

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, device: str = "cpu", copy_unknown: bool = True) -> "Reverser":
        return cls(checkpoint.build_model(resolve_device(device)), checkpoint.vocab, copy_unknown, checkpoint)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", copy_unknown: bool = True) -> "Reverser":
        return cls.from_checkpoint(load_checkpoint(path), device, copy_unknown)

    def with_copy(self, copy_unknown: bool) -> "Reverser":
        """The same model and search with the <unk> copy step switched on or off (for comparing the plain model)."""
        prefix = [self.vocab.itos[i] for i in self.prefix.values()]
        return Reverser(
            self.model, self._vocab, copy_unknown, self.checkpoint, self.beam, self.n_best, self.length_penalty, prefix
        )

    def with_search(
        self, beam: int = 1, n_best: int = 1, length_penalty: float = 0.0, prefix: Sequence[str] = ()
    ) -> "Reverser":
        """The same model with another search: InputError for a prefix no decode can write, ValueError for
        settings out of range."""
        return Reverser(
            self.model, self._vocab, self.copy_unknown, self.checkpoint, beam, n_best, length_penalty, prefix
        )

    @property
    def vocab(self) -> Vocabulary:
        return self._vocab

    def reverse(self, sentence: str) -> Reversal:
        """Reverse one typed sentence; raises InputError for an empty or over-long one."""
        return self.reverse_tokens([checked_tokens(sentence)])[0]

    def reverse_tokens(
        self,
        sentences: Sequence[Sequence[str]],
        batch_size: int = 500,
        *,
        forcing: Forcing | None = None,
        record: bool = False,
    ) -> list[Reversal]:
        """Reverse tokenized sentences; results come back in the input order.

        Sentences are decoded in batches of one length each: no row attends over padding or decodes past the others,
        which makes a large mixed set several times faster than one padded batch. ``forcing`` adds to the prefix;
        ``record`` keeps each step of the best answer (``Reversal.found.steps`` and ``.beam_steps``).
        """
        forcing = forcing or Forcing()
        forcing = Forcing({**self.prefix, **forcing.words}, forcing.attention)
        results: dict[int, Reversal] = {}
        for rows in same_length_rows(sentences, batch_size):
            chunk = [list(sentences[i]) for i in rows]
            batch = make_batch(chunk, self.vocab).to(self.device)
            found = search(
                self.model,
                batch.src,
                batch.src_lengths,
                self.beam,
                self.n_best,
                length_penalty=self.length_penalty,
                forcing=forcing,
                vocab=self.vocab if record else None,
            )
            copy = self.copy_unknown and has_attention(self.model)  # a fixed context has no peak to copy from
            for i, words, hypotheses in zip(rows, chunk, found, strict=True):
                n_best = [self._finish(words, hypothesis, copy) for hypothesis in hypotheses]
                results[i] = shallow_copy(n_best[0])
                results[i].hypotheses = n_best
        return [results[i] for i in range(len(sentences))]

    def _finish(self, words: list[str], hypothesis: Hypothesis, copy: bool) -> Reversal:
        """One hypothesis in words, after the <unk> copy step (when ``copy``)."""
        raw = self.vocab.decode(hypothesis.ids)
        weights = hypothesis.attention
        if copy:
            output, copied = copy_unknowns(words, raw, weights)
        else:
            output, copied = list(raw), [False] * len(raw)
        return Reversal(words, [w in self.vocab for w in words], output, raw, copied, weights, hypothesis)
