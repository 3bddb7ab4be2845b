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
