"""Models loaded once per checkpoint for every session of a server, and how the app names them.

``ModelCache`` loads a checkpoint once per (path, modification time, size) and is safe to share between threads;
a broken file is remembered as broken, with its one-line reason, until it changes.
"""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..ablate import term_ablation
from ..attention import EnergyTerm, kind_explanation, kind_name
from ..checkpoint import CheckpointError
from ..config import Config
from ..decoding import Forcing, Reversal, Reverser
from ..errors import one_line
from ..evaluation import SHOWCASE_SENTENCE, TestReport, evaluate_sentences
from ..metrics import percent
from ..paths import default_checkpoint_path
from ..tokenize import tokenize
from .runs import ACTIVE_STATUSES, LiveRuns, RunInfo, list_runs, runs_root

UNKNOWN_WORD_EXAMPLE = "the wug sat on the mat"
DECODES_KEPT = 8  # per loaded model: the Decoder page's own decode, its beam search and a few what-ifs


def shipped_models() -> list[Path]:
    """The shipped models: the default, then every ``<name>/model.pt`` beside it (``artifacts/additive/model.pt``,
    ``artifacts/encdec/model.pt``), never the app's runs."""
    default = default_checkpoint_path()
    others = [p for p in sorted(default.parent.glob("*/model.pt")) if p.parent.resolve() != runs_root().resolve()]
    return ([default] if default.is_file() else []) + others


def usable_runs(root: str | Path | None = None, live_run_dir: LiveRuns = None) -> list[RunInfo]:
    """The runs one can make one's model (pick, or name in a link): those that saved a model and are no longer
    training (``live_run_dir``: the runs the server trains now), newest first."""
    return [run for run in list_runs(root, live_run_dir) if run.has_model and run.status not in ACTIVE_STATUSES]


STILL_TRAINING = "is a run still training: a model can be used once its run has finished"


def usable_run(
    name: str, root: str | Path | None = None, live_run_dir: LiveRuns = None
) -> tuple[Path | None, str | None]:
    """(run ``name``'s checkpoint, None) when it is one of ``usable_runs`` now, else (None, why not): it is still
    training (``STILL_TRAINING``), or no finished run of that name holds a model, say because another session deleted
    it after a page listed it. Asked again when a choice is acted on, never from the list a page drew earlier."""
    run = next((run for run in list_runs(root, live_run_dir) if run.name == name), None)
    if run is not None and run.status in ACTIVE_STATUSES:
        return None, STILL_TRAINING
    if run is None or not run.has_model:
        return None, "is no longer a finished run with a model here (deleted, or trained again, since it was listed)"
    return run.checkpoint, None


def model_options(live_run_dir: LiveRuns = None) -> dict[str, str]:
    """Every model one can pick, path -> label: the shipped ones, then the finished runs that saved a model."""
    options = {str(path): model_label(path) for path in shipped_models()}
    for run in usable_runs(runs_root(), live_run_dir):
        options[str(run.checkpoint)] = f"run {run.name}"
    return options


def model_label(path: str | Path) -> str:
    """How a model is named in the app: "shipped default", "shipped additive" (a shipped model's folder),
    "run 20250131-142501", or its path."""
    path = Path(path)
    try:
        default = default_checkpoint_path().resolve()
        if path.resolve() == default:
            return "shipped default"
        if path.resolve().parent.parent == default.parent and path.name == "model.pt":
            return f"shipped {path.parent.name}"
        if path.resolve().parent.parent == runs_root().resolve():
            return f"run {path.parent.name}"
    except OSError:
        pass
    return str(path)


def missing_model_notice(chosen: str | Path | None) -> str | None:
    """What to tell a session whose chosen model file is gone (its run deleted, in this session or another, or by
    hand) as it goes back to the shipped default; None while the file is there, or when nothing was chosen."""
    if not chosen:
        return None
    try:
        Path(chosen).stat()
    except FileNotFoundError:
        return f"Your model ({model_label(chosen)}) is no longer on this server, so the shipped default is used."
    except OSError:  # there, but unreadable: loading it says why
        return None
    return None


@dataclass
class LoadedModel:
    """A checkpoint loaded for the app: its reverser, and its test-set evaluation computed once on first use."""

    path: Path
    label: str
    reverser: Reverser
    _report: TestReport | None = field(default=None, repr=False)
    _ablations: dict[EnergyTerm, TestReport] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _decodes: OrderedDict[tuple, Reversal] = field(default_factory=OrderedDict, repr=False)
    _decode_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    decode_runs: int = field(default=0, repr=False)  # decodes actually run (for tests and benchmarks)

    @property
    def checkpoint(self):
        return self.reverser.checkpoint

    @property
    def nbytes(self) -> int:
        """Bytes of the model's parameters: what the cache counts against its memory bound."""
        return sum(p.numel() * p.element_size() for p in self.reverser.model.parameters())

    @property
    def config(self) -> Config:
        return self.checkpoint.config

    @property
    def kind_name(self) -> str:
        """What the model is, in a few words: "2014 additive attention", "encoder–decoder, no attention", …"""
        return kind_name(self.config)

    @property
    def kind_text(self) -> str:
        """What that means, in a sentence a learner understands."""
        return kind_explanation(self.config)

    @property
    def has_attention(self) -> bool:
        """Whether its weights are an alignment worth drawing (False for the fixed-context baselines)."""
        return self.reverser.model.decoder.attention.aligns

    @property
    def test_metrics(self) -> dict | None:
        test = self.checkpoint.metrics.get("test")
        return test if isinstance(test, dict) and "exact_match" in test else None

    def accuracy_text(self) -> str:
        test = self.test_metrics
        if test is None:
            return "test accuracy not measured yet"
        return f"test exact match {percent(test['exact_match'])} ({test['correct']:,}/{test['total']:,})"

    def test_report(self) -> TestReport:
        """The model on its stored test split (computed once, then kept)."""
        with self._lock:
            if self._report is None:
                self._report = evaluate_sentences(self.reverser, self.checkpoint.test_sentences)
            return self._report

    def ablation_report(self, term: EnergyTerm) -> TestReport:
        """The stored test split decoded with one energy term switched off (``seq2seq.ablate``), once per term.
        ValueError for a term this kind does not have."""
        with self._lock:
            if term not in self._ablations:
                self._ablations[term] = term_ablation(self.reverser, self.checkpoint.test_sentences, term)
            return self._ablations[term]

    def decode(
        self, tokens: Sequence[str], *, beam: int = 1, forcing: Forcing | None = None, record: bool = False
    ) -> Reversal:
        """One sentence decoded (greedy at beam 1, else a beam keeping ``beam`` best), run once and then remembered:
        the Decoder page asks for the same decodes on every rerun. A LoadedModel is one version of its file
        (``ModelCache`` loads a changed file as a new one), so the key is the sentence and the settings. At most
        ``DECODES_KEPT`` are kept, the least recently used go first. Callers read the result and never change it."""
        words = tuple(sorted(forcing.words.items())) if forcing else ()
        key = (tuple(tokens), beam, record, words, forcing.attention if forcing else None)
        with self._decode_lock:
            held = self._decodes.get(key)
            if held is not None:
                self._decodes.move_to_end(key)
                return held
        search = self.reverser.with_search(beam=beam, n_best=beam)
        decoded = search.reverse_tokens([list(tokens)], forcing=forcing, record=record)[0]
        with self._decode_lock:
            self.decode_runs += 1
            self._decodes[key] = decoded
            while len(self._decodes) > DECODES_KEPT:
                self._decodes.popitem(last=False)
        return decoded

    def example_sentences(self, count: int = 4) -> list[str]:
        """Sentences worth trying: the classic one when its words are known, a few test sentences of different
        lengths, and one with a word the model never saw."""
        vocab = self.reverser.vocab
        picks: list[str] = []
        if all(tok in vocab for tok in tokenize(SHOWCASE_SENTENCE)):
            picks.append(SHOWCASE_SENTENCE)
        tests = sorted(self.checkpoint.test_sentences, key=lambda s: (len(s), s))
        for share in (0.3, 0.65, 0.97):
            if tests:
                sentence = " ".join(tests[min(len(tests) - 1, int(share * len(tests)))])
                if sentence not in picks:
                    picks.append(sentence)
        picks = picks[: max(0, count - 1)]
        if "wug" not in vocab and all(tok in vocab for tok in tokenize(UNKNOWN_WORD_EXAMPLE) if tok != "wug"):
            picks.append(UNKNOWN_WORD_EXAMPLE)
        return picks[:count]


class ModelCache:
    """Checkpoints loaded once per (path, modification time, size), shared by every session of a server.

    ``get`` raises CheckpointError with a one-line reason; that reason is remembered for the same file version, so a
    broken file is not read again on every page view. When a file that loaded before goes missing or is replaced by
    one that cannot be used, ``get`` keeps serving the last good version (while it stays in the cache) and ``problem``
    says what is wrong.

    Bounded: at most ``max_entries`` models, and at most ``max_bytes`` of their parameters, stay loaded (one version
    per file: the newest good one, which is also the last good one); the least recently used go first, though the
    model just asked for always stays. Remembered failures are bounded by ``max_failures``.
    """

    def __init__(
        self, max_entries: int = 4, max_bytes: int = 256 * 2**20, max_failures: int = 64, device: str = "cpu"
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_failures = max_failures
        self.device = device
        self._lock = threading.Lock()
        self._models: OrderedDict[str, tuple[tuple, LoadedModel]] = OrderedDict()  # resolved path: (version, model)
        self._failures: OrderedDict[tuple, CheckpointError] = OrderedDict()  # (path, mtime, size): why it failed
        self._problems: dict[str, str] = {}
        self.loads = 0  # how many times a file was actually read (for tests and the soak figures)

    def get(self, path: str | Path) -> LoadedModel:
        path = Path(path)
        name = str(path.resolve())
        with self._lock:
            try:
                model = self._load(path, name)
            except CheckpointError as error:
                good = self._models.get(name)
                if good is None:
                    self._problems.pop(name, None)
                    raise
                self._models.move_to_end(name)
                self._problems[name] = str(error)
                return good[1]
            self._problems.pop(name, None)
            return model

    def problem(self, path: str | Path) -> str | None:
        """Why the file at ``path`` cannot be used now, when ``get`` serves an earlier good version of it instead."""
        with self._lock:
            return self._problems.get(str(Path(path).resolve()))

    @property
    def loaded_bytes(self) -> int:
        """Parameter bytes of the models held now."""
        return sum(model.nbytes for _, model in self._models.values())

    def loaded(self) -> list[LoadedModel]:
        """The models held now, least recently used first."""
        with self._lock:
            return [model for _, model in self._models.values()]

    def _load(self, path: Path, name: str) -> LoadedModel:
        """The model of the file's current version: held, remembered as broken, or read now (under the lock)."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise CheckpointError(f"checkpoint not found: {path}") from None
        except OSError as error:
            raise CheckpointError(f"{path.name} cannot be read: {error.strerror or error}") from None
        version = (stat.st_mtime_ns, stat.st_size)
        held = self._models.get(name)
        if held is not None and held[0] == version:
            self._models.move_to_end(name)
            return held[1]
        failure = self._failures.get((name, *version))
        if failure is not None:
            raise CheckpointError(str(failure))
        self.loads += 1
        try:
            model = LoadedModel(path, model_label(path), Reverser.load(path, self.device))
        except CheckpointError as error:
            self._remember_failure((name, *version), error)
            raise
        except (ValueError, RuntimeError, KeyError, TypeError) as error:  # weights that do not build
            reason = one_line(error)
            failure = CheckpointError(f"{path.name} cannot be used: {reason[:200]}")
            self._remember_failure((name, *version), failure)
            raise failure from None
        self._models[name] = (version, model)  # replaces an older version of the same file
        self._models.move_to_end(name)
        while len(self._models) > 1 and (len(self._models) > self.max_entries or self.loaded_bytes > self.max_bytes):
            evicted, _ = self._models.popitem(last=False)
            self._problems.pop(evicted, None)
        return model

    def _remember_failure(self, key: tuple, error: CheckpointError) -> None:
        # A copy without the traceback: that would keep this call's frames, and the models they name, alive.
        self._failures[key] = CheckpointError(str(error))
        while len(self._failures) > self.max_failures:
            self._failures.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._failures.clear()
            self._problems.clear()
