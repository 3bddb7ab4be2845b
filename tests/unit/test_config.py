import pytest

from seq2seq.config import MAX_VALUES, Config
from seq2seq.tokenize import MAX_SENTENCE_TOKENS


def test_round_trip_through_a_dict():
    config = Config(hidden_size=32, target_accuracy=0.99)
    assert Config.from_dict(config.to_dict()) == config


def test_unknown_fields_are_refused():
    with pytest.raises(ValueError, match="unknown config fields: bogus"):
        Config.from_dict({**Config().to_dict(), "bogus": 1})


@pytest.mark.parametrize(
    "changes",
    [
        {"hidden_size": 0},
        {"embedding_size": -3},
        {"batch_size": 0},
        {"epochs": 1.5},
        {"lr": 0.0},
        {"lr": 1e9},
        {"lr": float("nan")},
        {"teacher_forcing": 1.5},
        {"clip": 0.0},
        {"min_length": 9, "max_length": 3},
        {"device": "tpu"},
        {"max_seconds": -1.0},
        {"hidden_size": 100_000},
        {"corpus_size": 10**9},
        {"epochs": 10**6},
        {"valid_size": 10**7},
        {"batch_size": 10**6},
        {"max_length": 10_000},
        {"evals_per_epoch": 10**4},
        {"location_kernel": 4},
        {"location_kernel": 1001},
        {"seed": -1},
        {"seed": "7"},
        {"corpus_size": True},
        {"attention_query": "sideways"},
        {"attention_query": "none", "attention": "additive"},
    ],
)
def test_bad_settings_are_refused_with_their_name(changes):
    with pytest.raises(ValueError, match=next(iter(changes))):
        Config(**changes)


def test_every_whole_number_setting_is_allowed_at_its_limit_and_refused_past_it():
    for name, largest in MAX_VALUES.items():
        at_limit = {name: largest}
        if name == "min_length":
            at_limit["max_length"] = largest
        Config(**at_limit)
        with pytest.raises(ValueError, match=f"{name} must be a whole number from 1 to {largest:,}"):
            Config(**{**at_limit, name: largest + 1})


def test_generated_sentences_stay_within_what_the_reverser_accepts_even_when_joined():
    assert 2 * MAX_VALUES["max_length"] <= MAX_SENTENCE_TOKENS


@pytest.mark.parametrize("value", [0, -1, 2.5, True, MAX_VALUES["valid_size"] + 1])
def test_valid_subset_is_none_or_a_bounded_whole_number(value):
    assert Config().valid_subset is None and Config(valid_subset=200).valid_subset == 200
    with pytest.raises(ValueError, match="valid_subset must be a whole number"):
        Config(valid_subset=value)
