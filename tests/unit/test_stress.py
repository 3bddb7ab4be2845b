import dataclasses
from collections import Counter

from seq2seq.checkpoint import load_checkpoint
from seq2seq.stress import SUITES, build_suites, made_up_words, run_stress, stress_table, trained_lengths


def test_suites_are_built_from_the_model_and_seeded(tiny_reverser):
    checkpoint = tiny_reverser.checkpoint
    stress = build_suites(checkpoint, seed=5, size=100, per_length=10)
    again = build_suites(checkpoint, seed=5, size=100, per_length=10)
    assert stress.suites == again.suites and stress.long == again.long
    assert set(stress.suites) == set(SUITES)
    vocab = set(checkpoint.vocab.words)
    longest, seen = trained_lengths(checkpoint)
    assert longest == seen == 4  # the tiny model trains without joined pairs
    assert all(set(s) <= vocab for s in stress.suites["random order"])
    assert all(1 <= len(s) <= longest for s in stress.suites["random order"])
    assert all(max(Counter(s).values()) >= 2 for s in stress.suites["repeated words"])
    assert all(set(s) - vocab for s in stress.suites["unknown words"])
    assert {len(s) for s in stress.suites["one-two words"]} == {1, 2}
    assert sorted(stress.long) == list(range(longest + 1, 2 * longest + 1))
    assert all(len(s) == n for n, group in stress.long.items() for s in group)


def test_made_up_words_are_new():
    words = made_up_words(50, {"kalo"}, __import__("random").Random(0))
    assert len(set(words)) == 50 and "kalo" not in words


def test_run_stress_reports_every_suite_and_length(tiny_reverser):
    stress = build_suites(tiny_reverser.checkpoint, size=50, per_length=5)
    results = run_stress(tiny_reverser, stress)
    assert set(results["suites"]) == {*SUITES, "unknown words (no copy)"}
    assert results["suites"]["normal"]["exact_match"] >= 0.9
    assert [int(n) for n in results["per_length"]] == list(range(1, 9))
    table = stress_table(results)
    assert "random order" in table and "(longer than any trained)" in table


def test_trained_lengths_of_a_checkpoint_with_no_data_nor_test_sentences_is_its_configs(tiny_checkpoint):
    """The Compare page and ``info`` ask it of any checkpoint that loads, these included."""
    bare = dataclasses.replace(load_checkpoint(tiny_checkpoint), metrics={}, test_sentences=[])
    assert trained_lengths(bare) == (bare.config.max_length, bare.config.max_length)
