import dataclasses
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq.app.runs import list_runs, write_run_info
from seq2seq.checkpoint import load_checkpoint, save_checkpoint
from seq2seq.cli import main
from seq2seq.failures import FAILURES, counts_text
from seq2seq.fileio import FolderLock

ROOT = Path(__file__).resolve().parents[2]
TINY_TRAIN = ["--epochs", "1", "--hidden-size", "16", "--embedding-size", "8", "--attention-size", "8",
              "--valid-size", "20", "--test-size", "20", "--device", "cpu"]  # fmt: skip


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_reverse_prints_each_reversal(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "the cat sat", "a dog")
    assert code == 0 and out.splitlines() == ["sat cat the", "dog a"]


def stdin_of(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_reverse_reads_stdin_and_prints_json(capsys, monkeypatch, tiny_checkpoint):
    stdin_of(monkeypatch, b"the cat\n\nthe zebra\n")
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--json")
    data = json.loads(out)
    assert out == json.dumps(data, indent=2) + "\n"  # streamed item by item, yet the same text as before
    assert code == 0 and [d["output"] for d in data][0] == "cat the"
    assert data[1]["unknown"] == ["zebra"]
    assert len(data[0]["attention"]) == 3 and len(data[0]["attention"][0]) == 3


def test_evaluate_prints_examples_and_writes_json_and_heatmap(capsys, tiny_checkpoint, tmp_path):
    code, out, _ = run(
        capsys,
        "evaluate",
        "--checkpoint",
        str(tiny_checkpoint),
        "--examples",
        "10",
        "--json",
        str(tmp_path / "m.json"),
        "--heatmap",
        str(tmp_path / "h.png"),
    )
    assert code == 0
    assert out.count("\nReference: ") == 10 and out.startswith("Input: ")
    assert "exact match: " in out
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert {"exact_match", "correct", "total", "per_length", "alignment"} <= set(metrics)
    assert metrics["total"] == sum(v["total"] for v in metrics["per_length"].values())
    assert (tmp_path / "h.png").read_bytes().startswith(b"\x89PNG")


def test_evaluate_on_a_test_file(capsys, tiny_checkpoint, tmp_path):
    test_file = tmp_path / "t.txt"
    test_file.write_text("the cat sat\na dog\n")
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(tiny_checkpoint), "--test-file", str(test_file))
    assert code == 0 and "(2/2)" in out


def test_evaluate_and_stress_count_the_wrong_decodes_by_failure_label(capsys, tiny_checkpoint, tmp_path):
    test_file = tmp_path / "long.txt"  # the tiny model trained on 1-4 words: most 9-word sentences fail
    test_file.write_text("the cat sat on the big red mat a\nthe dog saw a bird on the red mat\nthe cat\n")
    argv = ("--checkpoint", str(tiny_checkpoint), "--test-file", str(test_file), "--json", str(tmp_path / "m.json"))
    code, out, _ = run(capsys, "evaluate", *argv)
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert code == 0 and list(metrics["failures"]) == list(FAILURES)
    assert sum(metrics["failures"].values()) == metrics["total"] - metrics["correct"] > 0
    assert f"failures by first wrong step: {counts_text(metrics['failures'])}\n" in out
    assert sum(metrics["per_length"]["9"]["failures"].values()) == 2 - metrics["per_length"]["9"]["correct"]
    code, out, _ = run(capsys, "stress", "--checkpoint", str(tiny_checkpoint), "--json", str(tmp_path / "s.json"))
    results = json.loads((tmp_path / "s.json").read_text())
    for row in [*results["suites"].values(), *results["per_length"].values()]:
        assert sum(row["failures"].values()) == row["total"] - row["correct"]
    eight = results["per_length"]["8"]
    assert eight["correct"] < eight["total"] and f"({counts_text(eight['failures'])})" in out


def test_info_lists_config_and_vocabulary(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "info", "--checkpoint", str(tiny_checkpoint), "--json")
    info = json.loads(out)
    assert code == 0 and "cat" in info["vocabulary"] and info["config"]["hidden_size"] == 32
    assert info["metrics"]["test"]["total"] > 0


def test_info_names_the_longest_example_a_model_trained_on_joined_pairs_included(capsys, tmp_path, tiny_checkpoint):
    checkpoint = load_checkpoint(tiny_checkpoint)
    code, out, _ = run(capsys, "info", "--checkpoint", str(tiny_checkpoint))
    assert code == 0 and "sentences of 1-4 words\n" in out  # trained without joins: nothing longer
    checkpoint.metrics["data"]["seen_max_length"] = 8  # as training with join_share > 0 records it
    save_checkpoint(checkpoint, tmp_path / "joined.pt")
    code, out, _ = run(capsys, "info", "--checkpoint", str(tmp_path / "joined.pt"))
    assert code == 0 and "sentences of 1-4 words, joined into examples of up to 8 words\n" in out


def test_train_on_corpus_files(capsys, tmp_path, tiny_corpus):
    out_dir = tmp_path / "run"
    code, out, _ = run(
        capsys,
        "train",
        "--train-file",
        str(tiny_corpus),
        "--out",
        str(out_dir),
        "--epochs",
        "1",
        "--hidden-size",
        "16",
        "--embedding-size",
        "8",
        "--attention-size",
        "8",
        "--valid-size",
        "20",
        "--test-size",
        "20",
        "--device",
        "cpu",
    )
    assert code == 0
    assert (out_dir / "model.pt").exists() and (out_dir / "history.csv").exists()
    assert "tiny.txt: " in out and "best model:" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reverse", "--checkpoint", "/nonexistent/model.pt", "x"], "checkpoint not found"),
        (["train", "--epochs", "0"], "epochs must be"),
        (["train", "--lr", "nan"], "lr must be"),
        (["train", "--corpus-size", "1000000000"], "corpus_size must be a whole number from 1 to 500,000"),
        (["train", "--train-file", "/nonexistent.txt"], "corpus file not found"),
        (["train", "--attention-query", "none", "--attention", "additive"], "attention_query 'none' needs attention"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_empty_input_is_a_clear_error(capsys, tiny_checkpoint):
    code, _, err = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "   ")
    assert code == 2 and "empty" in err


def test_module_entry_point_runs_without_traceback(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    process = subprocess.run(
        [sys.executable, "-m", "seq2seq", "info", "--checkpoint", str(bad)], capture_output=True, text=True
    )
    assert process.returncode == 2
    assert "Traceback" not in process.stderr and process.stderr.startswith("error: ")


def test_stress_prints_every_suite_and_writes_json(capsys, tiny_checkpoint, tmp_path):
    code, out, _ = run(capsys, "stress", "--checkpoint", str(tiny_checkpoint), "--json", str(tmp_path / "s.json"))
    assert code == 0 and "random order" in out and "unknown words (no copy)" in out
    results = json.loads((tmp_path / "s.json").read_text())
    assert results["train_max_length"] == 4 and "8" in results["per_length"]


def test_a_run_folder_that_cannot_be_written_is_a_clear_error(capsys, tmp_path, tiny_corpus):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "train", "--train-file", str(tiny_corpus), "--out", str(blocker / "run"),
                       "--epochs", "1", "--valid-size", "20", "--test-size", "20")  # fmt: skip
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"


def test_huge_and_odd_sentences(capsys, tiny_checkpoint):
    code, _, err = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "word " * 10_000)
    assert code == 2 and "limit" in err
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "THE\\tcat 😀 <b>x</b>")
    assert code == 0 and len(out.splitlines()) == 1


# ----------------------------------------------------------------------------------------------- reverse, streaming
def spawn_streaming(command: str, checkpoint) -> subprocess.Popen:
    """``python -m seq2seq COMMAND`` reading its stdin from a pipe the test writes to while it runs."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "seq2seq", command, "--checkpoint", str(checkpoint)]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip


def answer_while_open(process: subprocess.Popen, line: bytes) -> bytes:
    """Write one line and read the answer line, which must come within 60 s while stdin stays open."""
    process.stdin.write(line)
    process.stdin.flush()
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready, "no answer within 60 s while stdin was still open"
    return process.stdout.readline()


def test_reverse_answers_each_line_before_stdin_closes(tiny_checkpoint):
    process = spawn_streaming("reverse", tiny_checkpoint)
    try:
        assert answer_while_open(process, b"the cat sat\n") == b"sat cat the\n"
        assert process.poll() is None  # still running, still reading
        process.stdin.write(b"a dog\n")
        process.stdin.close()
        assert process.stdout.read() == b"dog a\n"
        assert process.wait(30) == 0
    finally:
        process.kill()
        process.wait()


def test_reverse_reports_bad_lines_by_number_and_answers_the_rest(capsys, monkeypatch, tiny_checkpoint):
    lines = [b"the cat", b"\x00\x01", b"word " * 2_000, b"\xff\xfe not utf-8", b"", b"a dog\r"]
    stdin_of(monkeypatch, b"\n".join(lines) + b"\n")
    code, out, err = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint))
    assert code == 2 and out.splitlines() == ["cat the", "dog a"]
    assert err.splitlines() == [
        "error: line 2: The sentence is empty: type at least one word.",
        "error: line 3: the line is over 2,000 characters long; the limit is 2,000",
        "error: line 4: the line is not UTF-8 text",
    ]
    stdin_of(monkeypatch, b"\n".join(lines) + b"\n")
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--json")
    assert code == 2 and [item["output"] for item in json.loads(out)] == ["cat the", "dog a"]


def test_reverse_with_only_bad_lines_still_prints_valid_json(capsys, monkeypatch, tiny_checkpoint):
    stdin_of(monkeypatch, b"\x00\n")
    code, out, err = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--json")
    assert code == 2 and json.loads(out) == [] and "line 1" in err


def test_reverse_into_a_closed_pipe_stops_quietly(tiny_checkpoint):
    lines = "".join("the cat sat\n" for _ in range(3_000))
    command = f"{sys.executable} -m seq2seq reverse --checkpoint {tiny_checkpoint} | head -n 1"
    process = subprocess.run(["bash", "-c", command], input=lines, capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)  # fmt: skip
    assert process.stdout == "sat cat the\n"
    assert "Traceback" not in process.stderr and "Broken pipe" not in process.stderr, process.stderr


def test_reverse_keeps_words_with_combining_marks_whole(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--json", "नमस्ते दुनिया", "cafe\u0301 a")
    hindi, latin = json.loads(out)
    assert code == 0 and hindi["tokens"] == ["नमस्ते", "दुनिया"]
    assert hindi["reference"] == "दुनिया नमस्ते"  # what "match" is judged against: whole words, reversed
    assert latin["tokens"] == ["café", "a"]


# ----------------------------------------------------------------------------------------------- output paths
def test_output_paths_that_cannot_be_written_are_one_line_errors(capsys, tiny_checkpoint, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    folder = tmp_path / "folder"
    folder.mkdir()
    checkpoint = ["--checkpoint", str(tiny_checkpoint)]
    for argv, message in [
        (["evaluate", *checkpoint, "--json", str(folder)], "it is a folder"),
        (["evaluate", *checkpoint, "--heatmap", str(blocker / "h.png")], "is a file, not a folder"),
        (["stress", *checkpoint, "--json", str(folder)], "it is a folder"),
        (["report", *checkpoint, "--out", str(blocker)], "is a file, not a folder"),
        (["train", "--out", str(blocker)], "is a file, not a folder"),
        (["train", "--out", str(tmp_path / "run"), "--overwrite", "--train-file", str(folder)], "is a folder, not"),
    ]:
        code, out, err = run(capsys, *argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
        assert out == ""  # refused before any work
    assert blocker.read_text() == "mine" and list(folder.iterdir()) == []


def test_an_output_that_is_a_file_the_command_reads_is_refused_before_any_work(capsys, tiny_checkpoint, tmp_path):
    """``--json model.pt`` wrote the stress results over the model it had just read."""
    model = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, model)
    (tmp_path / "link.pt").symlink_to(model)
    test_file = tmp_path / "test.txt"
    test_file.write_text("the cat sat\n")
    before = model.read_bytes()
    checkpoint = ["--checkpoint", str(model)]
    for argv in [
        ["stress", *checkpoint, "--json", str(model)],
        ["stress", *checkpoint, "--json", str(tmp_path / "link.pt")],
        ["evaluate", *checkpoint, "--heatmap", str(model)],
        ["evaluate", *checkpoint, "--test-file", str(test_file), "--json", str(test_file)],
    ]:
        code, out, err = run(capsys, *argv)
        assert code == 2 and "which this command reads" in err and out == "", (argv, err)
        assert model.read_bytes() == before and test_file.read_text() == "the cat sat\n"
    renamed = model.rename(tmp_path / "metrics.json")  # a checkpoint with a report file's name
    code, _, err = run(capsys, "report", "--checkpoint", str(renamed), "--out", str(tmp_path))
    assert code == 2 and "which this command reads" in err and renamed.read_bytes() == before


def test_report_refuses_a_report_file_in_the_way_before_writing_any(capsys, tiny_checkpoint, tmp_path):
    (tmp_path / "ANALYSIS.md").mkdir()  # the last file the report writes
    code, out, err = run(capsys, "report", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path))
    assert code == 2 and "ANALYSIS.md: it is a folder" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ANALYSIS.md"]  # no half report beside it


def test_report_refuses_a_folder_another_process_is_training_into(capsys, tiny_checkpoint, tmp_path):
    """The report would describe a model being replaced, and stay beside the new one as if it were its report."""
    shutil.copy(tiny_checkpoint, tmp_path / "model.pt")
    with FolderLock(tmp_path):  # as `train --out` holds it; a second lock, in this process too, is refused
        code, out, err = run(capsys, "report", "--checkpoint", str(tmp_path / "model.pt"))
    assert code == 2 and "is in use" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_report_runs_on_the_device_asked_for(capsys, monkeypatch, tiny_checkpoint, tmp_path):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    argv = ["report", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path), "--device", "cuda"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "no CUDA device is available" in err, err
    assert list(tmp_path.iterdir()) == []


def test_info_and_stress_on_a_checkpoint_with_part_of_its_data_or_no_test_sentences(capsys, tiny_checkpoint, tmp_path):
    """A checkpoint's data block may hold only some counts, and its test split may be empty: both load, so ``info``
    reads what is there and ``stress`` says what it lacks, never a traceback (a KeyError, an empty ``max()``)."""
    checkpoint = load_checkpoint(tiny_checkpoint)
    partial = tmp_path / "partial.pt"
    save_checkpoint(dataclasses.replace(checkpoint, metrics={"data": {"vocabulary_size": 16}}), partial)
    code, out, err = run(capsys, "info", "--checkpoint", str(partial))
    longest = max(map(len, checkpoint.test_sentences))
    assert code == 0 and f"trained on sentences of 1-{longest} words" in out, err
    bare = tmp_path / "bare.pt"
    save_checkpoint(dataclasses.replace(checkpoint, metrics={"data": {}}, test_sentences=[]), bare)
    for command in ("info", "stress"):
        code, out, err = run(capsys, command, "--checkpoint", str(bare))
        assert err.count("\n") <= 1 and "Traceback" not in err, err
    assert code == 2 and "holds no test sentences" in err


def test_evaluate_says_how_many_test_file_lines_were_skipped_and_why(capsys, tiny_checkpoint, tmp_path):
    test_file = tmp_path / "t.txt"
    test_file.write_bytes(b"the cat sat\n\x01\x02\n" + b"word " * 500 + b"\n\xff\na dog\n")
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(tiny_checkpoint), "--test-file", str(test_file))
    assert code == 0 and "(2/2)" in out
    summary = out.splitlines()[0]
    assert summary.startswith("t.txt: 2 sentences") and "skipped 1 empty lines" in summary
    assert "skipped 1 over-long lines" in summary and "skipped 1 lines that are not UTF-8" in summary


@pytest.mark.parametrize("count", ["-1", "1000001"])
def test_an_example_count_out_of_range_is_refused(capsys, tiny_checkpoint, count):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--examples", count])
    assert exit_info.value.code == 2 and "must be from 0 to 1,000" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------- train --out
def test_train_refuses_a_folder_holding_a_model_and_touches_nothing(capsys, tmp_path, tiny_corpus):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.pt").write_bytes(b"earlier model")
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "train", "--train-file", str(tiny_corpus), "--out", str(out), *TINY_TRAIN)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "already holds a model (model.pt)" in err and "--overwrite" in err and "leave out --out" in err
    assert sorted(p.name for p in out.iterdir()) == ["model.pt", "notes.txt"]
    assert (out / "model.pt").read_bytes() == b"earlier model"


def test_train_overwrites_only_when_asked_and_says_what_still_describes_the_old_model(capsys, tmp_path, tiny_corpus):
    out = tmp_path / "artifacts"
    out.mkdir()
    (out / "history.csv").write_text("earlier history\n")
    (out / "metrics.json").write_text("{}")
    code, out_text, _ = run(capsys, "train", "--train-file", str(tiny_corpus), "--out", str(out), "--overwrite",
                            *TINY_TRAIN)  # fmt: skip
    assert code == 0 and (out / "history.csv").read_text().startswith("epoch,step")
    assert f"note: metrics.json in {out} still describe the earlier model" in out_text
    assert (out / "metrics.json").read_text() == "{}"


def test_train_over_an_app_run_removes_its_run_record_and_says_so(capsys, tmp_path, tiny_corpus, tiny_run):
    """The app's run.json described the earlier model ("finished", 100%): after `train --overwrite` the Runs page
    and the model picker describe the folder from its new checkpoint."""
    out = tmp_path / "20250101-000000"
    out.mkdir()
    (out / "model.pt").write_bytes((tiny_run / "model.pt").read_bytes())
    write_run_info(out, {"status": "finished", "stop_reason": "target_accuracy", "test": {"exact_match": 1.0}})
    code, out_text, _ = run(capsys, "train", "--train-file", str(tiny_corpus), "--out", str(out), "--overwrite",
                            *TINY_TRAIN)  # fmt: skip
    assert code == 0 and f"removed {out / 'run.json'}: it described the earlier model" in out_text
    assert not (out / "run.json").exists()
    (listed,) = list_runs(tmp_path)
    stored = load_checkpoint(out / "model.pt").metrics["test"]["exact_match"]
    assert (listed.status, listed.stop_reason, listed.test_exact_match) == ("cli", None, stored) and stored < 1.0


def test_train_without_out_makes_a_new_folder_under_runs(capsys, tmp_path, tiny_corpus, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "train", "--train-file", str(tiny_corpus), *TINY_TRAIN)
    (folder,) = (tmp_path / "runs").iterdir()
    assert code == 0 and f"run folder: {Path('runs') / folder.name}" in out
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.pt"]
    code, _, err = run(capsys, "train", "--overwrite", *TINY_TRAIN)
    assert code == 2 and "--overwrite needs --out" in err


@pytest.mark.parametrize("terminal", [True, False])
def test_train_draws_a_progress_line_on_a_terminal_only(capsys, tmp_path, tiny_corpus, monkeypatch, terminal):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    code, out, _ = run(capsys, "train", "--train-file", str(tiny_corpus), "--out", str(tmp_path / "run"),
                       *TINY_TRAIN, "--evals-per-epoch", "2")  # fmt: skip
    assert code == 0
    if terminal:
        redraws = [part for part in out.split("\r") if "steps/s" in part]
        assert redraws and all(" loss " in part for part in redraws)
        assert "step 1/" in redraws[0]
        # each validation line is printed on a cleared line, never after the bar's text
        assert len(re.findall(r"\r +\repoch 1 step \d+: train loss [^\r\n]+valid exact match", out)) == 2
    else:
        assert "\r" not in out and "steps/s" not in out
        assert sum("valid exact match" in line for line in out.split("\n")) == 2


# ------------------------------------------------------------------------------------------------- decoding flags
def test_reverse_json_with_a_beam_lists_n_best_hypotheses_with_log_probs(capsys, tiny_checkpoint):
    ckpt = str(tiny_checkpoint)
    code, out, _ = run(capsys, "reverse", "--checkpoint", ckpt, "--json", "--beam", "4", "--n-best", "3", "the cat sat")
    assert code == 0
    (row,) = json.loads(out)
    hypotheses = row["hypotheses"]
    assert len(hypotheses) == 3 and hypotheses[0]["output"] == row["output"] == "sat cat the"
    assert [h["log_prob"] for h in hypotheses] == sorted((h["log_prob"] for h in hypotheses), reverse=True)
    assert row["log_prob"] == hypotheses[0]["log_prob"] < 0
    code, out, _ = run(capsys, "reverse", "--checkpoint", ckpt, "--json", "the cat sat")
    (greedy,) = json.loads(out)
    assert "hypotheses" not in greedy and greedy["log_prob"] <= row["log_prob"] + 1e-9


def test_the_greedy_outputs_score_is_its_log_prob_from_reverse(capsys, monkeypatch, tiny_checkpoint):
    ckpt = str(tiny_checkpoint)
    _, out, _ = run(capsys, "reverse", "--checkpoint", ckpt, "--json", "the big cat", "a dog ran")
    reversed_rows = json.loads(out)
    lines = "".join(f"{r['input']}\t{r['output']}\n" for r in reversed_rows)
    stdin_of(monkeypatch, (lines + "\nthe big cat\tthe big cat\n").encode())
    code, out, _ = run(capsys, "score", "--checkpoint", ckpt, "--json")
    scores = json.loads(out)
    assert code == 0 and len(scores) == 3
    for r, s in zip(reversed_rows, scores, strict=False):
        assert s["candidate"] == r["output"] and s["tokens"][-1] == "<eos>"
        assert s["log_prob"] == pytest.approx(r["log_prob"], abs=1e-4)
        assert s["log_prob"] == pytest.approx(sum(s["log_probs"]))
    assert scores[2]["log_prob"] < scores[0]["log_prob"] - 1


def test_score_prints_one_line_per_pair_and_names_where_the_model_disagrees(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "score", "--checkpoint", str(tiny_checkpoint), "the big cat", "big cat the")
    assert code == 0 and len(out.splitlines()) == 1
    assert "(model: cat)" in out and out.split("\t")[0].startswith("-")


def test_reverse_prefix_forces_the_first_words(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--prefix", "Mat", "the cat sat")
    assert code == 0 and out.split()[0] == "mat"
    code, out, _ = run(
        capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--prefix", "Sat MAT <eos>", "the cat sat"
    )
    assert code == 0 and out == "sat mat\n"  # a typed <eos> ends the output there


def test_evaluate_with_a_beam_reports_exact_match(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(tiny_checkpoint), "--beam", "3", "--examples", "0")
    assert code == 0 and "exact match: " in out and "(beam 3)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reverse", "--beam", "0", "x"], "beam must be between 1 and 20"),
        (["reverse", "--beam", "2", "--n-best", "3", "--json", "x"], "n-best must be between 1 and the beam"),
        (["reverse", "--n-best", "1", "x"], "add --json"),
        (["reverse", "--n-best", "0", "--json", "x"], "n-best must be between 1 and the beam (1), not 0"),
        (["reverse", "--prefix", "the " * 101, "x"], "--prefix: The prefix has 101 tokens; the limit is 100."),
        (["reverse", "--length-penalty", "nan", "x"], "length penalty"),
        (["reverse", "--prefix", "zorblax", "x"], "not in the model's vocabulary"),
        (["reverse", "--prefix", "mat <pad>", "x"], "--prefix: <pad> cannot be forced: no decode writes it"),
        (["reverse", "--prefix", "<sos>", "x"], "--prefix: <sos> cannot be forced: no decode writes it"),
        (["reverse", "--prefix", "<eos> mat", "x"], "nothing follows an <eos>"),
        (["evaluate", "--beam", "99"], "beam must be between"),
        (["score", "only a source"], "give both SOURCE and CANDIDATE"),
        (["score", "the cat", ""], "empty"),
    ],
)
def test_bad_decoding_flags_are_one_line_errors(capsys, tiny_checkpoint, argv, message):
    code, out, err = run(capsys, *argv[:1], "--checkpoint", str(tiny_checkpoint), *argv[1:])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


@pytest.mark.parametrize(
    "command, flags, message",
    [
        ("reverse", ["--beam", "1000", "x"], "beam must be between 1 and 20, not 1000"),
        (
            "reverse",
            ["--beam", "2", "--n-best", "3", "--json", "x"],
            "n-best must be between 1 and the beam (2), not 3",
        ),
        ("reverse", ["--length-penalty", "-1", "x"], "length penalty must be between 0 and 10"),
        ("evaluate", ["--beam", "1000"], "beam must be between 1 and 20, not 1000"),
        ("evaluate", ["--length-penalty", "11"], "length penalty must be between 0 and 10"),
    ],
)
def test_decoding_flags_are_checked_before_the_model_is_loaded(capsys, tmp_path, command, flags, message):
    """A checkpoint that is not there: a flag out of range is the error, not the missing file (no load came first)."""
    code, out, err = run(capsys, command, "--checkpoint", str(tmp_path / "absent.pt"), *flags)
    assert code == 2 and message in err and "not found" not in err and out == ""


def test_an_unknown_prefix_word_is_echoed_cut_short(capsys, tiny_checkpoint):
    code, _, err = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--prefix", "w" * 1_500, "x")
    assert code == 2 and "not in the model's vocabulary" in err and "…" in err and len(err) < 200


def test_score_on_stdin_reports_bad_pairs_by_line_and_scores_the_rest(capsys, monkeypatch, tiny_checkpoint):
    lines = [b"the cat\tcat the", b"no tab here", b"a\tb\tc", b"the cat\t", b"\tcat", b"x" * 3_000 + b"\tx",
             b"", b"a dog\tdog a\r"]  # fmt: skip
    stdin_of(monkeypatch, b"\n".join(lines) + b"\n")
    code, out, err = run(capsys, "score", "--checkpoint", str(tiny_checkpoint))
    assert code == 2 and [line.split("\t")[1].split()[::2] for line in out.splitlines()] == [
        ["cat", "the", "<eos>"],
        ["dog", "a", "<eos>"],
    ]
    assert err.splitlines() == [
        "error: line 2: expected SOURCE<TAB>CANDIDATE, one tab; the line has 0",
        "error: line 3: expected SOURCE<TAB>CANDIDATE, one tab; the line has 2",
        "error: line 4: candidate: The sentence is empty: type at least one word.",
        "error: line 5: source: The sentence is empty: type at least one word.",
        "error: line 6: source: The sentence is 3,000 characters long; the limit is 2,000.",
    ]
    stdin_of(monkeypatch, b"\n".join(lines) + b"\n")
    code, out, _ = run(capsys, "score", "--checkpoint", str(tiny_checkpoint), "--json")
    assert code == 2 and [row["candidate"] for row in json.loads(out)] == ["cat the", "dog a"]
    stdin_of(monkeypatch, b"no tab\n")
    code, out, _ = run(capsys, "score", "--checkpoint", str(tiny_checkpoint), "--json")
    assert code == 2 and json.loads(out) == []


def test_score_answers_each_pair_before_stdin_closes_and_bounds_a_line_with_no_end(tiny_checkpoint):
    process = spawn_streaming("score", tiny_checkpoint)
    try:
        assert answer_while_open(process, b"the cat\tcat the\n").split(b"\t")[1].startswith(b"cat ")
        assert process.poll() is None  # still running, still reading
        process.stdin.write(b"the cat\t" + b"cat " * 2**20)  # 4 MB without a line end: dropped as it streams
        process.stdin.write(b"\na dog\tdog a\n")
        process.stdin.close()
        assert process.stdout.read().split(b"\t")[1].startswith(b"dog ")
        assert process.stderr.read() == b"error: line 2: the line is over 4,001 characters long; the limit is 4,001\n"
        assert process.wait(30) == 2
    finally:
        process.kill()
        process.wait()


def test_evaluate_refuses_a_test_file_whose_attention_would_not_fit_before_any_model_work(capsys, tiny_checkpoint,
                                                                                          tmp_path):  # fmt: skip
    lines = [" ".join(["the", "cat", "sat", "on", f"w{i}", *["mat"] * 95]) for i in range(500)]
    (tmp_path / "long.txt").write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "evaluate", "--checkpoint", str(tiny_checkpoint), "--test-file",
                         str(tmp_path / "long.txt"), "--beam", "20")  # fmt: skip
    assert code == 2 and out == "long.txt: 500 sentences\n" and len(err.splitlines()) == 1
    assert "500 test sentences of 100 tokens on average need up to 5,353,000 attention weights" in err
    assert "the limit is 5,000,000" in err
    (tmp_path / "fits.txt").write_text("\n".join(lines[:400]) + "\n")
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(tiny_checkpoint), "--test-file",
                       str(tmp_path / "fits.txt"), "--examples", "0")  # fmt: skip
    assert code == 0 and "exact match: " in out


def test_reverse_with_a_wide_beam_searches_few_sentences_at_a_time(capsys, monkeypatch, tiny_checkpoint):
    from seq2seq.decoding import Reverser

    sizes: list[int] = []
    original = Reverser.reverse_tokens

    def spy(self, sentences, *args, **kwargs):
        sizes.append(len(sentences))
        return original(self, sentences, *args, **kwargs)

    monkeypatch.setattr(Reverser, "reverse_tokens", spy)
    stdin_of(monkeypatch, b"the big cat sat\n" * 30)
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--beam", "20", "--n-best", "20",
                       "--json")  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and len(rows) == 30 and all(len(row["hypotheses"]) == 20 for row in rows)
    assert sizes == [12, 12, 6]  # 256 // 20 sentences at most: a search holds as many hypotheses as a greedy batch


ENCDEC = ROOT / "artifacts" / "encdec" / "model.pt"


def test_a_model_without_attention_gets_no_attention_figures(capsys, tmp_path):
    """The encoder-decoder's weights only pick its fixed context: evaluate writes no alignment block (null, and why),
    --heatmap refuses in one line before any work, and reverse --json prints no weights as "attention"."""
    test_file = tmp_path / "test.txt"
    test_file.write_text("the cat sat on the mat\na dog ran\n", encoding="utf-8")
    metrics = tmp_path / "metrics.json"
    code, _, _ = run(capsys, "evaluate", "--checkpoint", str(ENCDEC), "--test-file", str(test_file),
                     "--examples", "0", "--json", str(metrics))  # fmt: skip
    written = json.loads(metrics.read_text())
    assert code == 0 and written["alignment"] is None and "no attention" in written["alignment_note"]
    picture = tmp_path / "heatmap.png"
    code, out, err = run(capsys, "evaluate", "--checkpoint", str(ENCDEC), "--test-file", str(test_file),
                         "--heatmap", str(picture))  # fmt: skip
    assert code == 2 and not picture.exists() and "exact match" not in out
    assert err.startswith("error: --heatmap: this model has no attention") and err.count("\n") == 1
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(ENCDEC), "--json", "the cat sat")
    assert code == 0 and json.loads(out)[0]["attention"] is None
