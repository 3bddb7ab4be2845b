"""Turning sentences into tokens and back.

Lower-cases, splits on white space and splits punctuation off as tokens of its own, so ``"Hello, world!"`` becomes
``["hello", ",", "world", "!"]``. The reference reversal of a sentence is always its token list reversed.

Words stay whole in every script: text is NFC-normalised (a decomposed ``"cafe\\u0301"`` is ``"café"``), and a
combining mark (an accent, a Devanagari or Thai vowel sign, a virama, a Hebrew point) stays with the character before
it, as do variation selectors, emoji skin tones and tags; a zero-width joiner binds the characters on both sides
(emoji sequences such as 👨‍👩‍👧, conjuncts in Indic scripts) and two regional indicators make one flag. This is close
to Unicode's extended grapheme clusters, without a dependency. Thai and other scripts written without spaces come out
as one token per space-separated run: splitting those into words needs a dictionary.
"""

import re
import unicodedata

# ASCII text, the common case, takes a fast path: a word is a run of letters, digits, apostrophes or hyphens; any
# other visible character is a token by itself.
_TOKEN = re.compile(r"[\w'-]+|[^\w\s]")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_ZWJ, _ZWNJ, _ZWSP = "\u200d", "\u200c", "\u200b"
_WORD_PUNCTUATION = "_'-"

MAX_SENTENCE_CHARS = 2_000
"""Longest input sentence accepted, in characters. Longer ones are refused before any tokenizing work."""

MAX_SENTENCE_TOKENS = 100
"""Longest input accepted, in tokens: far past any trained length, well before memory or time would matter."""


MAX_ECHO_CHARS = 40
"""Longest piece of a user's text repeated in a message; longer ones keep their first characters and "…"."""


class InputError(ValueError):
    """A sentence or file the product refuses, with a message fit to show a user as it is."""


def tokenize(sentence: str) -> list[str]:
    """Split a sentence into lower-case tokens; control characters are dropped."""
    if sentence.isascii():
        return _TOKEN.findall(_ASCII_CONTROL.sub(" ", sentence).lower())
    tokens: list[str] = []
    word: list[str] = []
    for cluster in _clusters(unicodedata.normalize("NFC", sentence.lower())):
        base = cluster[0]
        if base.isalnum() or base in _WORD_PUNCTUATION:
            word.append(cluster)
            continue
        if word:
            tokens.append("".join(word))
            word = []
        if not base.isspace():
            tokens.append(cluster)
    if word:
        tokens.append("".join(word))
    return tokens


def _clusters(text: str) -> list[str]:
    """``text`` as user-perceived characters: each a base character with the marks and joiners that belong to it.
    Format characters other than the joiners, tags and the zero-width space (soft hyphens, direction marks, byte-order
    marks) are dropped; the zero-width space (a word break in Thai or Khmer) and other control, private-use and
    unassigned characters become spaces."""
    clusters: list[str] = []
    joined = False  # the last cluster ends in a zero-width joiner: the next character belongs to it
    for ch in text:
        category = unicodedata.category(ch)
        attachable = bool(clusters) and not clusters[-1].isspace()
        if ch in (_ZWJ, _ZWNJ):
            if attachable:
                clusters[-1] += ch
                joined = ch == _ZWJ
            continue
        if category == "Cf" and not _is_tag(ch) and ch != _ZWSP:
            continue
        if category[0] == "C" and not _is_tag(ch):
            ch = " "
        elif attachable and (joined or _extends(ch) or _pairs_with(clusters[-1], ch)):
            clusters[-1] += ch
            joined = False
            continue
        clusters.append(ch)
        joined = False
    return clusters


def _extends(ch: str) -> bool:
    """A character that belongs with the one before it: a combining mark, a variation selector (a mark too), an emoji
    skin-tone modifier or a tag character."""
    return unicodedata.category(ch)[0] == "M" or "\U0001f3fb" <= ch <= "\U0001f3ff" or _is_tag(ch)


def _is_tag(ch: str) -> bool:
    return "\U000e0020" <= ch <= "\U000e007f"


def _is_regional_indicator(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _pairs_with(cluster: str, ch: str) -> bool:
    """Two regional indicators make one flag (🇫🇷); a third starts the next."""
    return len(cluster) == 1 and _is_regional_indicator(cluster) and _is_regional_indicator(ch)


def detokenize(tokens: list[str]) -> str:
    """Join tokens with single spaces: the form every output and reference is shown in."""
    return " ".join(tokens)


def reference_reversal(tokens: list[str]) -> list[str]:
    return tokens[::-1]


def echo(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """A user's text quoted for a message: white space collapsed, cut to ``limit`` characters ending in "…"."""
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def checked_tokens(sentence: str, what: str = "sentence") -> list[str]:
    """Tokenize a user's sentence, or raise InputError saying why it cannot be used; ``what`` names it in the
    message ("The candidate is empty…")."""
    name = f"The {what}"
    if len(sentence) > MAX_SENTENCE_CHARS:
        raise InputError(f"{name} is {len(sentence):,} characters long; the limit is {MAX_SENTENCE_CHARS:,}.")
    tokens = tokenize(sentence)
    if not tokens:
        raise InputError(f"{name} is empty: type at least one word.")
    if len(tokens) > MAX_SENTENCE_TOKENS:
        raise InputError(f"{name} has {len(tokens):,} tokens; the limit is {MAX_SENTENCE_TOKENS}.")
    return tokens
