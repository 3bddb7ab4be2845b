"""The Train page's settings, turned into a ``Config``.

The page's widgets are keyed by the ``Config`` field they set; a few read more naturally in the page's own terms
(a length range, minutes, 0 for "off"), and ``config_from_settings`` turns those into the fields.
"""

from collections.abc import Mapping

from ..config import Config

# The command line validates once an epoch on the whole split. In the app a person watches: validate 20 times an
# epoch on the first 200 validation sentences (a validation then costs about a tenth of a second), so that the curves
# move from the first seconds and the 99% moment shows as it happens. Both are settings on the Train page.
APP_DEFAULTS = Config(evals_per_epoch=20, valid_subset=200)

# Widget keys that are not Config fields, and what each becomes.
LENGTH_RANGE = "length_range"  # (min_length, max_length)
MAX_MINUTES = "max_minutes"  # max_seconds / 60; 0: no limit
OFF_WHEN_ZERO = ("clip", "target_accuracy", "valid_subset")  # 0 in the page means None in the Config


def config_from_settings(settings: Mapping[str, object], train_file: str | None = None) -> Config:
    """A validated Config from the page's widget values (missing ones keep their defaults); raises ValueError,
    naming the setting, for values that cannot train."""
    fields = set(Config.__dataclass_fields__) - {"train_file", "max_seconds", "min_length", "max_length"}
    values: dict[str, object] = {name: settings[name] for name in fields if name in settings}
    for name in OFF_WHEN_ZERO:
        if name in values:
            values[name] = values[name] or None
    if LENGTH_RANGE in settings:
        values["min_length"], values["max_length"] = (int(n) for n in settings[LENGTH_RANGE])
    if MAX_MINUTES in settings:
        values["max_seconds"] = 60.0 * float(settings[MAX_MINUTES]) or None
    return Config(**values, train_file=train_file)
