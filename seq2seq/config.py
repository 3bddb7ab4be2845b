"""The one source of truth for a run's settings: a dataclass that is saved inside every checkpoint."""

import dataclasses
import math
from dataclasses import dataclass

from .tokenize import MAX_SENTENCE_TOKENS

# The whole-number settings and the largest value each may take: beyond these a run only exhausts memory or time on a
# model of this kind (a CLI typo such as --corpus-size 1000000000 must not try to generate a billion sentences).
# Joined training pairs double a sentence, so generated ones stay within half the tokenizer's limit. The app's inputs
# take their ranges from here.
MAX_VALUES = {
    "embedding_size": 2048,
    "hidden_size": 2048,
    "attention_size": 2048,
    "corpus_size": 500_000,
    "min_length": MAX_SENTENCE_TOKENS // 2,
    "max_length": MAX_SENTENCE_TOKENS // 2,
    "valid_size": 100_000,
    "test_size": 100_000,
    "epochs": 1_000,
    "batch_size": 4_096,
    "evals_per_epoch": 100,
    "location_kernel": 31,
}

# The attention kinds (seq2seq.attention): location-aware (default), the 2014 paper's additive, the paper's RNN
# Encoder-Decoder baseline (no attention: the encoder's last state), and a mean of the annotations (no attention).
ATTENTION_KINDS = ("location", "additive", "encdec", "none")

# Where the decision to stop (the ``<eos>`` logit) comes from (seq2seq.model): the readout, as every other word (the
# 2014 paper's; the decoder state then counts the steps), the attention alone (a learned gate on how much more weight
# the source's ``<eos>`` gets than any source word), both added, or the coverage alone (a learned gate on the least
# attention any source word has received so far: every word read, stop).
STOP_KINDS = ("readout", "attention", "gate", "coverage")

# What the attention is queried with (seq2seq.model): the previous decoder state s_{i-1} (the paper's), the current
# one s_i, or nothing (the location-aware energy without its query term W_a s).
ATTENTION_QUERIES = ("previous", "current", "none")


@dataclass
class Config:
    """Everything that defines a model and how it was trained. ``Config.from_dict(asdict(c)) == c``."""

    # Model
    embedding_size: int = 32
    hidden_size: int = 64
    attention_size: int = 64
    # Attention: "location" (default) is Bahdanau's additive attention plus a location term that reads the previous
    # weights (Chorowski, Bahdanau et al. 2015); "additive" is the 2014 paper's exactly; "encdec" its baseline, the RNN
    # Encoder-Decoder (context = the encoder's last state at every step); "none" the annotations' mean as context.
    attention: str = "location"
    location_kernel: int = 5  # width of the location term's convolution
    # Where the <eos> logit comes from (STOP_KINDS); all but "readout" read location or additive attention
    stop: str = "readout"
    # Single ideas of the design that the ablation switches off (see seq2seq.model); the defaults are the paper's
    # "current": attend from s_i instead of s_{i-1}; "none": no query term, so where to look comes from the words and
    # from where it looked last alone (location attention only), and no count in the decoder state reaches it
    attention_query: str = "previous"
    bidirectional: bool = True
    mask_padding: bool = True
    # Data: the built-in generator (used when no training file is given) and the splits
    corpus_size: int = 20_000
    min_length: int = 1
    max_length: int = 15
    random_share: float = 0.25
    valid_size: int = 1_000
    test_size: int = 1_000
    # Training-time augmentation, drawn afresh each epoch (see seq2seq.augment): joined sentence pairs and random word
    # sequences (as shares of the training set), and the rate at which source words are dropped to <unk>
    join_share: float = 0.2
    random_extra_share: float = 0.2
    unk_rate: float = 0.05
    # Optimisation
    epochs: int = 3
    batch_size: int = 64
    lr: float = 5e-3
    lr_schedule: str = "linear"
    weight_decay: float = 0.0
    teacher_forcing: float = 1.0
    clip: float | None = 1.0  # max gradient norm; None: no clipping
    seed: int = 0
    device: str = "auto"
    target_accuracy: float | None = None
    max_seconds: float | None = None
    evals_per_epoch: int = 1
    # Validate on the first this many validation sentences (None: all of them): a subset makes frequent validations
    # cheap (the app validates many times an epoch so that its curves move from the first seconds)
    valid_subset: int | None = None
    # Where the data came from: None for the built-in generator, else the training file's name
    train_file: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse settings that cannot train, with a message that names the setting."""
        for name, largest in MAX_VALUES.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= largest:
                raise ValueError(f"{name} must be a whole number from 1 to {largest:,}, not {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a whole number of at least 0, not {self.seed!r}")
        if self.min_length > self.max_length:
            raise ValueError(f"min_length ({self.min_length}) must not exceed max_length ({self.max_length})")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 1.0):
            raise ValueError(f"lr must be a finite number in (0, 1], not {self.lr!r}")
        for name in ("random_share", "join_share", "random_extra_share", "unk_rate", "teacher_forcing"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"clip must be a positive number, not {self.clip!r}")
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION_KINDS)}, not {self.attention!r}")
        if self.stop not in STOP_KINDS:
            raise ValueError(f"stop must be one of {', '.join(STOP_KINDS)}, not {self.stop!r}")
        if self.stop != "readout" and self.attention not in ("location", "additive"):
            raise ValueError(f"stop {self.stop!r} reads the attention: it needs attention location or additive")
        if self.location_kernel % 2 == 0:
            raise ValueError(f"location_kernel must be an odd whole number, not {self.location_kernel!r}")
        if self.attention_query not in ATTENTION_QUERIES:
            choices = ", ".join(ATTENTION_QUERIES)
            raise ValueError(f"attention_query must be one of {choices}, not {self.attention_query!r}")
        if self.attention_query == "none" and self.attention != "location":
            raise ValueError(
                "attention_query 'none' needs attention location: without a query only the location term "
                "moves the attention from step to step"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be zero or positive, not {self.weight_decay!r}")
        if self.lr_schedule not in ("linear", "constant"):
            raise ValueError(f"lr_schedule must be 'linear' or 'constant', not {self.lr_schedule!r}")
        if self.device not in ("auto", "cpu", "cuda", "mps"):
            raise ValueError(f"device must be auto, cpu, cuda or mps, not {self.device!r}")
        if self.target_accuracy is not None and not (0 < self.target_accuracy <= 1):
            raise ValueError(f"target_accuracy must be in (0, 1], not {self.target_accuracy!r}")
        if self.valid_subset is not None and (
            not isinstance(self.valid_subset, int)
            or isinstance(self.valid_subset, bool)
            or not 1 <= self.valid_subset <= MAX_VALUES["valid_size"]
        ):
            raise ValueError(
                f"valid_subset must be a whole number from 1 to {MAX_VALUES['valid_size']:,}, not {self.valid_subset!r}"
            )
        if self.max_seconds is not None and not (math.isfinite(self.max_seconds) and self.max_seconds > 0):
            raise ValueError(f"max_seconds must be a positive number, not {self.max_seconds!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        """Rebuild from a checkpoint's dict; unknown keys (from a newer version) are an error, not ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        return cls(**values)

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)
