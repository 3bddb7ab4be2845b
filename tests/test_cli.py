import json
import subprocess
import sys

import pytest

from seq2seq.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_reverse_prints_each_reversal(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "the cat sat", "a dog")
    assert code == 0 and out.splitlines() == ["sat cat the", "dog a"]


def test_reverse_reads_stdin_and_prints_json(capsys, monkeypatch, tiny_checkpoint):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("the cat\n\nthe zebra\n"))
    code, out, _ = run(capsys, "reverse", "--checkpoint", str(tiny_checkpoint), "--json")
    data = json.loads(out)
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


def test_info_lists_config_and_vocabulary(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "info", "--checkpoint", str(tiny_checkpoint), "--json")
    info = json.loads(out)
    assert code == 0 and "cat" in info["vocabulary"] and info["config"]["hidden_size"] == 32
    assert info["metrics"]["test"]["total"] > 0


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
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(lines + "\nthe big cat\tthe big cat\n"))
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


def test_evaluate_with_a_beam_reports_exact_match(capsys, tiny_checkpoint):
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(tiny_checkpoint), "--beam", "3", "--examples", "0")
    assert code == 0 and "exact match: " in out and "(beam 3)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reverse", "--beam", "0", "x"], "beam must be between 1 and 20"),
        (["reverse", "--beam", "2", "--n-best", "3", "--json", "x"], "n-best must be between 1 and the beam"),
        (["reverse", "--n-best", "1", "x"], "add --json"),
        (["reverse", "--length-penalty", "nan", "x"], "length penalty"),
        (["reverse", "--prefix", "zorblax", "x"], "not in the model's vocabulary"),
        (["evaluate", "--beam", "99"], "beam must be between"),
        (["score", "only a source"], "give both SOURCE and CANDIDATE"),
        (["score", "the cat", ""], "empty"),
    ],
)
def test_bad_decoding_flags_are_one_line_errors(capsys, tiny_checkpoint, argv, message):
    code, out, err = run(capsys, *argv[:1], "--checkpoint", str(tiny_checkpoint), *argv[1:])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and out == ""


def test_score_on_stdin_refuses_a_line_without_one_tab(capsys, monkeypatch, tiny_checkpoint):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("the cat\tcat the\nno tab here\n"))
    code, _, err = run(capsys, "score", "--checkpoint", str(tiny_checkpoint))
    assert code == 2 and "line 2" in err
