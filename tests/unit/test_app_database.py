import sqlite3

import pytest

from seq2seq.app.database import DatabaseUnavailable, connect, database_path

SCHEMA = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);"


def test_lives_in_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_RUNS_DIR", str(tmp_path / "runs"))
    assert database_path() == tmp_path / "runs" / "app.sqlite3"


def test_a_block_commits_and_a_failing_block_rolls_back(tmp_path):
    path = tmp_path / "app.sqlite3"
    with connect(SCHEMA, path) as db:
        db.execute("INSERT INTO notes (text) VALUES ('kept')")
    with pytest.raises(ZeroDivisionError), connect(SCHEMA, path) as db:
        db.execute("INSERT INTO notes (text) VALUES ('lost')")
        raise ZeroDivisionError
    with connect(SCHEMA, path, write=False) as db:
        assert [row["text"] for row in db.execute("SELECT text FROM notes")] == ["kept"]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_a_database_is_one_line_and_left_as_it_was(tmp_path):
    path = tmp_path / "app.sqlite3"
    path.write_bytes(b"not a database at all, " * 100)
    before = path.read_bytes()
    with pytest.raises(DatabaseUnavailable) as caught, connect(SCHEMA, path):
        pass
    assert "\n" not in str(caught.value) and "app.sqlite3" in str(caught.value)
    assert path.read_bytes() == before


def test_a_writer_held_past_the_timeout_reads_busy(tmp_path):
    path = tmp_path / "app.sqlite3"
    with connect(SCHEMA, path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseUnavailable, match="busy"), connect(SCHEMA, path, timeout=0.1):
            pass
        with connect(SCHEMA, path, write=False, timeout=0.1) as db:  # a reader does not wait for the writer
            assert db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
