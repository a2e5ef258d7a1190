"""The workdir's training lock and writability check (gta_keras/workdir_lock.py).

A live lock is simulated in-process: flock locks belong to an open file, so a second
`os.open` of the lock file conflicts with `acquire` as another process's would. The
killed-holder case, with a real second process, is in tests/test_bad_inputs.py.
"""

import errno
import fcntl
import os

import pytest

from gta_keras import workdir_lock


@pytest.fixture
def workdir(tmp_path):
    path = str(tmp_path / "run")
    yield path
    workdir_lock.release(path)


def _hold(workdir, content):
    """Locks the workdir's lock file through another open file; returns its descriptor."""
    os.makedirs(workdir, exist_ok=True)
    descriptor = os.open(workdir_lock.lock_path(workdir), os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.ftruncate(descriptor, 0)
    os.write(descriptor, content.encode())
    return descriptor


def _read(workdir):
    with open(workdir_lock.lock_path(workdir)) as f:
        return f.read()


def test_acquire_creates_the_workdir_and_writes_the_pid(workdir):
    workdir_lock.acquire(workdir)
    assert workdir_lock.holds(workdir)
    assert _read(workdir) == f"{os.getpid()}\n"


def test_a_live_lock_refuses_and_names_its_holder(workdir):
    holder = _hold(workdir, "4242\n")
    try:
        with pytest.raises(workdir_lock.WorkdirBusyError,
                           match=r"is in use: process 4242 is training in it.*kill 4242"):
            workdir_lock.acquire(workdir)
    finally:
        os.close(holder)
    assert not workdir_lock.holds(workdir)
    assert _read(workdir) == "4242\n"  # the holder's file is not touched


def test_a_holder_that_has_not_written_its_pid_yet_is_still_refused(workdir):
    holder = _hold(workdir, "")
    try:
        with pytest.raises(workdir_lock.WorkdirBusyError, match="its id not yet written"):
            workdir_lock.acquire(workdir)
    finally:
        os.close(holder)


def test_a_stale_lock_file_without_a_live_lock_does_not_block(workdir):
    os.makedirs(workdir)
    with open(workdir_lock.lock_path(workdir), "w") as f:
        f.write("4242\n")  # left by a run that was killed
    workdir_lock.acquire(workdir)
    assert _read(workdir) == f"{os.getpid()}\n"


def test_acquire_is_reentrant_and_release_frees_the_lock_for_others(workdir):
    workdir_lock.acquire(workdir)
    workdir_lock.acquire(workdir)  # the same process again: no error
    workdir_lock.release(workdir)
    assert not workdir_lock.holds(workdir)
    assert _read(workdir) == ""  # no holder's id left behind
    os.close(_hold(workdir, "1\n"))  # another open file can lock it now
    workdir_lock.release(workdir)  # not held: nothing to do


def test_check_writable_accepts_a_writable_folder_and_leaves_nothing(tmp_path):
    workdir = tmp_path / "new" / "run"
    workdir_lock.check_writable(str(workdir))
    assert os.listdir(workdir) == []


def test_a_full_disk_is_reported_with_what_to_do(tmp_path, monkeypatch):
    def full(*unused_args, **unused_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(workdir_lock.tempfile, "TemporaryFile", full)
    with pytest.raises(workdir_lock.WorkdirError) as raised:
        workdir_lock.check_writable(str(tmp_path))
    assert str(raised.value) == (
        f"Cannot write to the workdir {tmp_path} (No space left on device); nothing was "
        "run. Free space on its disk and rerun.")
