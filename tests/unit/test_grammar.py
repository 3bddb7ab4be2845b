import random
from collections import Counter

from seq2seq.grammar import WORDS, SentenceGrammar


def test_vocabulary_has_several_hundred_words_and_the_classic_example():
    assert len(WORDS) >= 300
    assert {"the", "cat", "sat", "on", "mat", "hello", "dogs", "bark"} <= set(WORDS)


def test_the_same_seed_gives_the_same_sentences():
    a, b = SentenceGrammar(random.Random(3)), SentenceGrammar(random.Random(3))
    assert [a.sentence() for _ in range(50)] == [b.sentence() for _ in range(50)]


def test_of_length_returns_exactly_that_length():
    grammar = SentenceGrammar(random.Random(0))
    for length in range(1, 16):
        sentence = grammar.of_length(length)
        assert sentence is not None and len(sentence) == length


def test_sentences_use_only_grammar_words_and_join_clauses_with_and():
    grammar = SentenceGrammar(random.Random(1))
    sentences = [grammar.sentence() for _ in range(500)]
    assert all(set(s) <= set(WORDS) for s in sentences)
    assert any("and" in s for s in sentences)


def test_repeated_words_occur_inside_sentences():
    grammar = SentenceGrammar(random.Random(2))
    sentences = [grammar.of_length(8) for _ in range(300)]
    repeated = [s for s in sentences if max(Counter(s).values()) > 1]
    assert len(repeated) > 30
