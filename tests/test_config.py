import pytest

from seq2seq.config import Config


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
    ],
)
def test_bad_settings_are_refused_with_their_name(changes):
    with pytest.raises(ValueError, match=next(iter(changes))):
        Config(**changes)
