"""Switch off one term of the attention energy at inference, over a whole set of sentences.

The energy e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j [+ U_f (F * alpha_{i-1})_j]) is a sum of terms inside the tanh;
zeroing one of them in a trained model, and decoding the test split again, measures what that term does: exact
match per length and the failure labels, recomputed. Only kinds whose energy holds the term can lose it
(``Attention.energy_terms``): the 2014 attention has no location term, a model without attention no terms at all.
"""

import copy
from collections.abc import Sequence

from .attention import EnergyTerm
from .decoding import Reverser
from .evaluation import TestReport, evaluate_sentences


def terms_of(reverser: Reverser) -> tuple[EnergyTerm, ...]:
    """The energy terms this model's attention has, and can switch off."""
    return reverser.model.decoder.attention.energy_terms


def without_term(reverser: Reverser, term: EnergyTerm | None) -> Reverser:
    """The same model with ``term`` zeroed at every step (None: every term on), on a copy: the shared model is never
    changed. ValueError, saying why, for a term this kind does not have."""
    if term is not None and term not in terms_of(reverser):
        kind = reverser.model.decoder.attention.__class__.__name__
        raise ValueError(f"this model's attention ({kind}) has no {term} term: there is nothing to switch off")
    model = copy.deepcopy(reverser.model)
    model.decoder.attention.switched_off = term
    return Reverser(model, reverser.vocab, reverser.copy_unknown, reverser.checkpoint)


def term_ablation(reverser: Reverser, sentences: Sequence[Sequence[str]], term: EnergyTerm | None) -> TestReport:
    """Decode ``sentences`` with ``term`` switched off (None: every term on, which is the plain evaluation) on a copy
    of the model, and evaluate."""
    return evaluate_sentences(without_term(reverser, term), sentences)
