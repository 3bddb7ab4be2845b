"""The Train page's widget values turned into a Config."""

import pytest

from seq2seq.app.settings import config_from_settings
from seq2seq.config import Config


def test_widget_values_become_config_fields():
    config = config_from_settings(
        {"hidden_size": 32, "length_range": (2, 9), "clip": 0.0, "target_accuracy": 0.99, "max_minutes": 1.5,
         "attention": "additive", "seed": 7, "not_a_setting": "ignored"},
        train_file="corpus.txt",
    )  # fmt: skip
    assert (config.hidden_size, config.min_length, config.max_length) == (32, 2, 9)
    assert config.clip is None and config.target_accuracy == 0.99 and config.max_seconds == 90.0
    assert config.attention == "additive" and config.seed == 7 and config.train_file == "corpus.txt"


def test_missing_values_keep_the_defaults_and_zero_means_off():
    assert config_from_settings({}) == Config()
    config = config_from_settings({"clip": 2.0, "target_accuracy": 0.0, "max_minutes": 0.0})
    assert config.clip == 2.0 and config.target_accuracy is None and config.max_seconds is None


def test_settings_that_cannot_train_are_refused_by_name():
    with pytest.raises(ValueError, match="lr"):
        config_from_settings({"lr": 0.0})
    with pytest.raises(ValueError, match="min_length"):
        config_from_settings({"length_range": (9, 2)})
