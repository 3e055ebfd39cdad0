"""The output writer: standard output, files replaced atomically, devices and links kept.

Every path here is in a temporary folder the test made (FIFOs and symlinks included).
"""

from __future__ import annotations

import errno
import os
import stat

import pytest
from outputkit import FifoReader

from igoc import output
from igoc.output import OutputError, open_output, write_output


def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_output(tmp_path / "a.bin", b"\x00\x01")
        write_output(tmp_path / "a.txt", "text\n")
        os.umask(0o077)
        write_output(tmp_path / "private.txt", "secret\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o600
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"


def test_a_regular_file_is_replaced_whole_and_keeps_its_mode(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o640)
    before = path.stat().st_ino
    write_output(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != before  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_failure_while_writing_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError), open_output(path) as stream:
        stream.write(b"half of it")
        raise RuntimeError("the compile failed")
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_symlink_is_followed_and_kept(tmp_path):
    target = tmp_path / "real.npu"
    target.write_bytes(b"old")
    link = tmp_path / "link.npu"
    link.symlink_to(target.name)
    write_output(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "real.npu"
    assert target.read_bytes() == b"new"
    dangling = tmp_path / "dangling"
    dangling.symlink_to("made-by-the-write")
    write_output(dangling, "text")
    assert dangling.is_symlink()
    assert (tmp_path / "made-by-the-write").read_text() == "text"


def test_a_fifo_is_written_in_place(tmp_path):
    fifo = FifoReader(tmp_path / "pipe")
    write_output(fifo.path, b"\x00through the pipe\xff")
    assert fifo.received() == b"\x00through the pipe\xff"
    assert stat.S_ISFIFO(os.lstat(fifo.path).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_symlink_to_a_fifo_writes_the_fifo(tmp_path):
    fifo = FifoReader(tmp_path / "pipe")
    link = tmp_path / "link"
    link.symlink_to(fifo.path)
    with open_output(link, binary=False) as stream:
        stream.write("line\n")
    assert fifo.received() == b"line\n"
    assert link.is_symlink() and stat.S_ISFIFO(os.lstat(fifo.path).st_mode)


def test_dash_is_standard_output_and_binary_safe(capsysbinary):
    write_output("-", b"\x00\xffNPU")
    write_output("-", "and text\n")
    assert capsysbinary.readouterr().out == b"\x00\xffNPUand text\n"


def test_errors_are_one_line_and_name_the_path(tmp_path):
    with pytest.raises(OutputError, match="it is a directory"):
        write_output(tmp_path, b"x")
    missing = tmp_path / "no" / "out.npu"
    with pytest.raises(OutputError, match=r"folder '.*no' does not exist"):
        write_output(missing, b"x")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="not a folder"):
        write_output(blocker / "out.npu", b"x")


def test_check_output_says_before_any_work_what_writing_would_say(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for path in (tmp_path, tmp_path / "no" / "out.npu", blocker / "out.npu"):
        with pytest.raises(OutputError) as at_write:
            write_output(path, b"x")
        with pytest.raises(OutputError) as early:
            output.check_output(path)
        assert str(early.value) == str(at_write.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing was made


def test_check_output_lets_pass_what_can_be_written(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "old.npu").write_text("")
    for path in (None, "-", tmp_path / "new.npu", tmp_path / "old.npu", fifo):
        output.check_output(path)
    with pytest.raises(OutputError, match="it is the input file"):
        output.check_output(tmp_path / "old.npu", tmp_path / "old.npu")


def test_check_output_of_a_folder_that_refuses_writing(tmp_path, monkeypatch):
    """Faked, as below: as root, no mode stops a write."""
    monkeypatch.setattr(output.os, "access", lambda path, mode: False)
    with pytest.raises(OutputError) as early:
        output.check_output(tmp_path / "out.npu")
    assert str(early.value) == (
        f"error: cannot write '{tmp_path / 'out.npu'}': permission denied "
        f"(cannot write to folder '{tmp_path}')"
    )


def test_a_folder_that_refuses_writing(tmp_path, monkeypatch):
    """A read-only folder (faked, since the tests may run as root, whom no mode stops)."""

    def refuse(path, flags, mode=0o777):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(output.os, "open", refuse)
    with pytest.raises(OutputError) as caught:
        write_output(tmp_path / "out.npu", b"x")
    assert "permission denied" in str(caught.value)
    assert str(caught.value).count("\n") == 0


def test_same_file_is_one_regular_or_new_file_by_any_name(tmp_path):
    """Two outputs that would overwrite each other; a FIFO (or device) is written in place,
    so naming it twice is not that."""
    (tmp_path / "a.json").write_text("")
    os.symlink(tmp_path / "a.json", tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")
    assert output.same_file(tmp_path / "a.json", tmp_path / "link")
    assert output.same_file(tmp_path / "new", tmp_path / "sub" / ".." / "new")
    assert not output.same_file(tmp_path / "a.json", tmp_path / "new")
    assert not output.same_file(tmp_path / "fifo", tmp_path / "fifo")


def test_make_folder_makes_parents_and_says_why_it_cannot(tmp_path):
    output.make_folder(tmp_path / "a" / "b", "--dump-dir")
    assert (tmp_path / "a" / "b").is_dir()
    output.make_folder(tmp_path / "a" / "b", "--dump-dir")  # one that exists is kept
    (tmp_path / "file").write_text("kept")
    with pytest.raises(OutputError) as caught:
        output.make_folder(tmp_path / "file", "--figures")
    assert caught.value.message == (
        f"cannot make the folder of --figures '{tmp_path / 'file'}': a file of that name is there"
    )
    assert (tmp_path / "file").read_text() == "kept"
