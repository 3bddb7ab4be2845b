"""Turning sentences into tokens and back.

Lower-cases, splits on white space and splits punctuation off as tokens of its own, so ``"Hello, world!"`` becomes
``["hello", ",", "world", "!"]``. The reference reversal of a sentence is always its token list reversed.
"""

import re
import unicodedata

# A word is a run of letters, digits, apostrophes or hyphens; any other visible character is a token by itself.
_TOKEN = re.compile(r"[\w'-]+|[^\w\s]", re.UNICODE)

MAX_SENTENCE_CHARS = 2_000
"""Longest input sentence accepted, in characters. Longer ones are refused before any tokenizing work."""

MAX_SENTENCE_TOKENS = 100
"""Longest input accepted, in tokens: far past any trained length, well before memory or time would matter."""


class InputError(ValueError):
    """A sentence or file the product refuses, with a message fit to show a user as it is."""


def tokenize(sentence: str) -> list[str]:
    """Split a sentence into lower-case tokens; control characters are dropped."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in sentence)
    return _TOKEN.findall(cleaned.lower())


def detokenize(tokens: list[str]) -> str:
    """Join tokens with single spaces: the form every output and reference is shown in."""
    return " ".join(tokens)


def reference_reversal(tokens: list[str]) -> list[str]:
    return tokens[::-1]


def checked_tokens(sentence: str) -> list[str]:
    """Tokenize a user's sentence, or raise InputError saying why it cannot be reversed."""
    if len(sentence) > MAX_SENTENCE_CHARS:
        raise InputError(f"The sentence is {len(sentence):,} characters long; the limit is {MAX_SENTENCE_CHARS:,}.")
    tokens = tokenize(sentence)
    if not tokens:
        raise InputError("The sentence is empty: type at least one word.")
    if len(tokens) > MAX_SENTENCE_TOKENS:
        raise InputError(f"The sentence has {len(tokens):,} tokens; the limit is {MAX_SENTENCE_TOKENS}.")
    return tokens
