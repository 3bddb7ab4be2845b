"""The bugs the mutation-testing issue listed, applied by hand one at a time in a copy of the tree, each against the
tests written to catch it. Run by hand: ``python benchmarks/kill_check.py [part of a bug's name ...]``; every line
must say CAUGHT. The copy is made fresh each time; the repository itself is never edited."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.gettempdir()) / "seq2seq-kill-check"
BUGS = [
    (
        "no gradient clipping",
        "seq2seq/train.py",
        "cfg.clip or math.inf",
        "math.inf",
        [
            "tests/unit/test_train.py::test_the_update_uses_the_clipped_gradient_and_the_stored_norm_is_the_one_before_clipping"
        ],
    ),
    (
        "clipping at 10",
        "seq2seq/train.py",
        "cfg.clip or math.inf",
        "10.0 if cfg.clip else math.inf",
        [
            "tests/unit/test_train.py::test_the_update_uses_the_clipped_gradient_and_the_stored_norm_is_the_one_before_clipping"
        ],
    ),
    (
        "stored norm after clipping",
        "seq2seq/train.py",
        "grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip or math.inf))",
        "torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip or math.inf); "
        "grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf))",
        [
            "tests/unit/test_train.py::test_the_update_uses_the_clipped_gradient_and_the_stored_norm_is_the_one_before_clipping"
        ],
    ),
    (
        "keep the last checkpoint",
        "seq2seq/train.py",
        'if row["valid_loss"] < best_loss:',
        "if True:",
        ["tests/unit/test_train.py::test_a_run_whose_validation_loss_rises_keeps_the_earlier_best"],
    ),
    (
        "loss over padded positions",
        "seq2seq/train.py",
        "    return F.cross_entropy(logits, batch.tgt_out[real]), int(real.sum())",
        "    full, _ = model(batch.src, batch.src_lengths, batch.tgt_in, teacher_forcing)\n"
        "    return F.cross_entropy(full.reshape(-1, full.size(-1)), batch.tgt_out.reshape(-1)), int(real.sum())",
        ["tests/unit/test_train.py::test_the_loss_of_a_padded_batch_is_the_token_weighted_loss_of_its_rows_alone"],
    ),
    (
        "exact match accepts extra words",
        "seq2seq/decoding.py",
        "return self.output == self.reference",
        "return self.output[: len(self.reference)] == self.reference",
        ["tests/unit/test_metrics.py::test_exact_match_is_whole_sequence_equality"],
    ),
    (
        "no sweep of stale temporary files",
        "seq2seq/run_folder.py",
        "            sweep_stale_temp_files(self.out_dir)",
        "            pass",
        ["tests/unit/test_run_folder.py::test_a_new_run_sweeps_the_temporary_files_a_killed_one_left"],
    ),
    (
        "constant learning rate",
        "seq2seq/train.py",
        'lr = cfg.lr * (1 - step / total_steps) if cfg.lr_schedule == "linear" else cfg.lr',
        "lr = cfg.lr",
        ["tests/unit/test_train.py::test_the_learning_rate_follows_the_schedule"],
    ),
    (
        "validation loss teacher-forced",
        "seq2seq/train.py",
        "loss, n = masked_loss(model, batch, teacher_forcing=0.0)",
        "loss, n = masked_loss(model, batch, teacher_forcing=1.0)",
        ["tests/unit/test_train.py::test_the_validation_loss_is_measured_on_the_models_own_predictions"],
    ),
    (
        "training ignores teacher forcing",
        "seq2seq/train.py",
        "loss, tokens = masked_loss(model, batch, cfg.teacher_forcing)",
        "loss, tokens = masked_loss(model, batch, 1.0)",
        ["tests/unit/test_train.py::test_teacher_forcing_below_one_trains"],
    ),
    (
        "Reverser never copies",
        "seq2seq/decoding.py",
        "copy = self.copy_unknown and has_attention(self.model)",
        "copy = False",
        [
            "tests/unit/test_decoding.py::test_reverser_replaces_each_unk_with_the_source_word_at_that_steps_attention_peak",
            "tests/unit/test_decoding.py::test_plain_mode_keeps_unk",
        ],
    ),
    (
        "copy from the next step",
        "seq2seq/decoding.py",
        "peak = max(range(len(attention[step])), key=attention[step].__getitem__)",
        "peak = max(range(len(attention[step + 1])), key=attention[step + 1].__getitem__)",
        [
            "tests/unit/test_decoding.py::test_reverser_replaces_each_unk_with_the_source_word_at_that_steps_attention_peak"
        ],
    ),
]
only = sys.argv[1:]
print(f"kill check of {SRC}", flush=True)
shutil.rmtree(WORK, ignore_errors=True)
shutil.copytree(SRC, WORK, ignore=shutil.ignore_patterns(".git", "__pycache__", "mutants"))
env = {**os.environ, "OMP_NUM_THREADS": "1"}
for name, path, old, new, tests in BUGS:
    if only and not any(o in name for o in only):
        continue
    file = WORK / path
    original = file.read_text()
    assert original.count(old) == 1, (name, old)
    file.write_text(original.replace(old, new))
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
        cwd=WORK,
        env=env,
        capture_output=True,
        text=True,
    )
    file.write_text(original)
    verdict = "CAUGHT" if p.returncode == 1 else f"NOT CAUGHT (rc {p.returncode})"
    print(f"{name}: {verdict}: {p.stdout.strip().splitlines()[-1]}", flush=True)
