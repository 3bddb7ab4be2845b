import pytest

from seq2seq.tokenize import (
    MAX_SENTENCE_CHARS,
    MAX_SENTENCE_TOKENS,
    InputError,
    checked_tokens,
    detokenize,
    reference_reversal,
    tokenize,
)


def test_lowercases_and_splits_punctuation():
    assert tokenize("Hello, World!") == ["hello", ",", "world", "!"]


def test_white_space_of_any_kind_separates_words():
    assert tokenize("the\tcat\n sat  ") == ["the", "cat", "sat"]


def test_apostrophes_and_hyphens_stay_inside_words():
    assert tokenize("don't re-use") == ["don't", "re-use"]


def test_control_characters_are_dropped():
    assert tokenize("the\x00cat\x07") == ["the", "cat"]


def test_other_scripts_and_emoji_become_tokens():
    assert tokenize("привет мир") == ["привет", "мир"]
    assert tokenize("猫 😀") == ["猫", "😀"]


def test_markup_is_split_into_plain_tokens():
    assert tokenize("<b>x</b>") == ["<", "b", ">", "x", "<", "/", "b", ">"]


def test_reference_is_the_token_list_reversed():
    assert reference_reversal(["the", "cat", "sat"]) == ["sat", "cat", "the"]
    assert detokenize(["sat", "cat", "the"]) == "sat cat the"


@pytest.mark.parametrize("sentence", ["", "   ", "\t\n", "\x00\x01"])
def test_empty_sentences_are_refused(sentence):
    with pytest.raises(InputError, match="empty"):
        checked_tokens(sentence)


def test_too_many_tokens_are_refused_with_the_limit():
    with pytest.raises(InputError, match=str(MAX_SENTENCE_TOKENS)):
        checked_tokens("word " * (MAX_SENTENCE_TOKENS + 1))


def test_too_many_characters_are_refused_before_tokenizing():
    with pytest.raises(InputError, match="characters"):
        checked_tokens("a" * (MAX_SENTENCE_CHARS + 1))


@pytest.mark.parametrize(
    "sentence, tokens",
    [
        ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),  # Devanagari: viramas and vowel signs stay in their words
        ("สวัสดี ชาวโลก", ["สวัสดี", "ชาวโลก"]),  # Thai: vowel signs above and below
        ("שָׁלוֹם עוֹלָם", ["שָׁלוֹם", "עוֹלָם"]),  # Hebrew with points (niqqud)
        ("Cafe\u0301, cafe\u0301.", ["café", ",", "café", "."]),  # a decomposed accent: NFC, lower-cased
        ("می\u200cخواهم", ["می\u200cخواهم"]),  # Persian: a zero-width non-joiner inside a word
    ],
)
def test_words_with_combining_marks_stay_whole(sentence, tokens):
    assert tokenize(sentence) == tokens
    assert reference_reversal(tokenize(sentence)) == tokens[::-1]


def test_decomposed_and_precomposed_text_give_the_same_tokens():
    assert tokenize("cafe\u0301") == tokenize("caf\u00e9") == ["caf\u00e9"]


def test_emoji_sequences_are_one_token_each():
    family, thumbs, flags, keycap = "👨\u200d👩\u200d👧", "👍🏽", "🇫🇷🇩🇪", "1\ufe0f\u20e3"
    assert tokenize(f"{family} {thumbs} {flags} {keycap}") == [family, thumbs, "🇫🇷", "🇩🇪", keycap]


def test_invisible_format_characters_join_and_zero_width_spaces_split():
    assert tokenize("soft\u00adhyphen \ufeffbom \u200fmark") == ["softhyphen", "bom", "mark"]
    assert tokenize("คำ\u200bไทย") == ["คำ", "ไทย"]  # a zero-width space is a word break
    assert tokenize("\u200d the") == ["the"]  # a joiner with nothing before it is dropped


def test_ascii_and_other_scripts_split_alike():
    for ascii_text, other in [("Hello, World! don't re-use", "Héllo, Wörld! don't re-use"), ("a_b\tc", "á_b\tc")]:
        assert len(tokenize(ascii_text)) == len(tokenize(other))
