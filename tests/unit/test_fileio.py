import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq.fileio import (
    LOCK_NAME,
    FolderBusyError,
    FolderLock,
    OutputPathError,
    atomic_write,
    atomic_write_text,
    folder_is_locked,
    sweep_stale_temp_files,
    write_json,
)
from tests.processes import dead_pid

ROOT = Path(__file__).resolve().parents[2]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ----------------------------------------------------------------------------------------------- links and modes
def test_writing_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "data" / "metrics.json"
    real.parent.mkdir()
    real.write_text("old")
    (tmp_path / "hop").symlink_to(real)
    link = tmp_path / "out.json"
    link.symlink_to("hop")  # relative, and a link to a link
    write_json(link, {"a": 1})
    assert link.is_symlink() and os.readlink(link) == "hop" and (tmp_path / "hop").is_symlink()
    assert real.read_text() == '{\n  "a": 1\n}\n'
    assert sorted(p.name for p in real.parent.iterdir()) == ["metrics.json"]  # no temporary file left beside it


def test_a_dangling_symlink_is_written_at_its_target(tmp_path):
    link = tmp_path / "out.txt"
    link.symlink_to(tmp_path / "new" / "target.txt")
    atomic_write_text(link, "x")
    assert link.is_symlink() and (tmp_path / "new" / "target.txt").read_text() == "x"


@pytest.mark.parametrize("mode", [0o600, 0o664, 0o755])
def test_an_existing_file_keeps_its_mode(tmp_path, mode):
    private = tmp_path / "private.json"
    private.write_text("secret")
    private.chmod(mode)
    seen_modes = []
    atomic_write(private, lambda handle: (seen_modes.append(stat.S_IMODE(os.fstat(handle.fileno()).st_mode)),
                                          handle.write(b"new")))  # fmt: skip
    assert private.read_bytes() == b"new" and mode_of(private) == mode
    assert seen_modes == [mode]  # the temporary file was never more readable than the file it replaces


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path):
    old_umask = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(old_umask)
    assert mode_of(tmp_path / "new.txt") == mode_of(tmp_path / "plain.txt") == 0o640


def test_a_file_with_other_hard_links_is_refused_and_left_alone(tmp_path):
    original = tmp_path / "model.pt"
    original.write_bytes(b"old")
    os.link(original, tmp_path / "backup.pt")
    with pytest.raises(OutputPathError, match="2 hard links"):
        atomic_write_text(original, "new")
    assert original.read_bytes() == (tmp_path / "backup.pt").read_bytes() == b"old"
    assert original.stat().st_nlink == 2


def test_a_device_is_written_in_place(tmp_path):
    atomic_write_text("/dev/null", "discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("where, message", [("folder", "it is a folder"), ("file/x.json", "is a file, not a folder"),
                                            ("file/deeper/x.json", "is a file, not a folder")])  # fmt: skip
def test_a_path_that_is_a_folder_or_under_a_file_is_a_one_line_error(tmp_path, where, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("mine")
    with pytest.raises(OutputPathError, match=message) as error:
        write_json(tmp_path / where, {})
    assert len(str(error.value).splitlines()) == 1 and str(tmp_path / where) in str(error.value)
    assert (tmp_path / "file").read_text() == "mine" and list((tmp_path / "folder").iterdir()) == []


def test_an_unwritable_folder_is_an_error_naming_the_file_not_the_temporary_one(tmp_path, monkeypatch):
    def refused(path, *args, **kwargs):  # what a folder without write permission answers (the tests may run as root)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(OutputPathError, match=r"^cannot write .*/out\.json: Permission denied$"):
        write_json(tmp_path / "out.json", {})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------- temporary files
def test_temporary_files_say_which_process_made_them(tmp_path):
    names = []
    atomic_write(tmp_path / "model.pt", lambda handle: names.extend(p.name for p in tmp_path.iterdir()))
    assert len(names) == 1 and re.fullmatch(rf"\.model\.pt\.seq2seq-{os.getpid()}-[0-9a-f]{{8}}\.tmp", names[0])


def test_the_sweep_removes_only_our_temporary_files_whose_writer_is_gone(tmp_path):
    ours_stale = tmp_path / f".model.pt.seq2seq-{dead_pid()}-0123abcd.tmp"
    ours_live = tmp_path / f".history.csv.seq2seq-{os.getpid()}-89abcdef.tmp"  # a write going on now
    users = [tmp_path / ".notes.tmp", tmp_path / ".model.pt.abc123.tmp", tmp_path / "draft.tmp"]
    for path in (ours_stale, ours_live, *users):
        path.write_text("content")
    assert sweep_stale_temp_files(tmp_path) == [ours_stale]
    assert not ours_stale.exists() and ours_live.exists() and all(p.read_text() == "content" for p in users)


# ----------------------------------------------------------------------------------------------- folder lock
def test_a_folder_lock_is_exclusive_within_a_process_and_removed_on_release(tmp_path):
    with FolderLock(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(FolderBusyError, match=f"process {os.getpid()} is training into it"):
            FolderLock(tmp_path).__enter__()
    assert not (tmp_path / LOCK_NAME).exists()
    with FolderLock(tmp_path):  # free again
        pass


def test_a_folder_lock_held_by_another_process_is_refused_until_that_process_is_killed(tmp_path):
    script = (
        "import sys, time\n"
        "from seq2seq.fileio import FolderLock\n"
        f"with FolderLock({str(tmp_path)!r}):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(FolderBusyError, match=f"process {holder.pid} is training into it"), FolderLock(tmp_path):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert (tmp_path / LOCK_NAME).exists()  # the killed process left its lock file, but not its lock
        with FolderLock(tmp_path):
            assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_file_planted_as_a_link_is_never_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / LOCK_NAME).symlink_to(victim)
    with pytest.raises(OSError), FolderLock(tmp_path / "run"):
        pass
    assert victim.read_text() == "precious"


def test_folder_is_locked_says_whether_a_lock_is_held_without_taking_it(tmp_path):
    assert not folder_is_locked(tmp_path) and not folder_is_locked(tmp_path / "missing")
    with FolderLock(tmp_path):
        assert folder_is_locked(tmp_path)
        assert folder_is_locked(tmp_path)  # asking did not take or break it
    (tmp_path / LOCK_NAME).write_text("123\n")  # a file a killed run left: no one holds it
    assert not folder_is_locked(tmp_path)
    with FolderLock(tmp_path):  # asking never kept it
        pass
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / LOCK_NAME).symlink_to(tmp_path / LOCK_NAME)
    with FolderLock(tmp_path):
        assert not folder_is_locked(tmp_path / "run")  # a planted link is not followed to someone else's lock
