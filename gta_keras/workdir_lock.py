"""One training run per workdir, and a workdir that can be written: checked before work.

Two runs training into one workdir would overwrite each other's checkpoints, so training
holds an exclusive `fcntl.flock` on `<workdir>/.lock`, a file that holds the holder's
process id. The operating system drops the lock when its process ends, however it ends
(a kill, a crash), so a lock file left behind by a dead run blocks nothing: only a live
lock does. The file itself is never deleted: deleting it while another process opens it
would let two processes lock two different files of one name.

flock works per open file, not per process: within one process a second `os.open` of the
file conflicts with the first too, which is what lets tests hold a lock in-process.
"""

import errno
import fcntl
import os
import tempfile

LOCK_FILE_NAME = ".lock"

# Workdirs this process holds the lock of: absolute path -> the open file's descriptor.
_held = {}


class WorkdirError(RuntimeError):
    """The workdir cannot be used: not writable, full, or in use by another run."""


class WorkdirBusyError(WorkdirError):
    """Another live process holds the workdir's training lock."""


def lock_path(workdir):
    """The lock file of a workdir."""
    return os.path.join(workdir, LOCK_FILE_NAME)


def acquire(workdir):
    """Takes the workdir's training lock for this process, until `release` or exit.

    Re-entrant within a process: a second call for a held workdir does nothing (tests
    and scripts train one workdir several times in one process).

    Args:
      workdir: the run's folder (created if needed).

    Raises:
      WorkdirBusyError: another live process holds the lock; the message names its id.
      WorkdirError: the lock file cannot be created (the workdir is not writable).
    """
    key = os.path.abspath(workdir)
    if key in _held:
        return
    path = lock_path(workdir)
    try:
        os.makedirs(workdir, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise not_writable_error(workdir, error) from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = _read_pid(descriptor)
        os.close(descriptor)
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        who = f"process {holder}" if holder else "another process (its id not yet written)"
        raise WorkdirBusyError(
            f"{workdir} is in use: {who} is training in it (it holds {path}), and two runs "
            "in one workdir would overwrite each other's checkpoints. Wait for that run to "
            "end or stop it" + (f" (kill {holder})" if holder else "") + ", or give this "
            "run another --workdir.") from error
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    _held[key] = descriptor


def release(workdir):
    """Releases the lock `acquire` took for `workdir`, if this process holds it."""
    descriptor = _held.pop(os.path.abspath(workdir), None)
    if descriptor is None:
        return
    # Emptied while still locked: a run that finds the file sees no holder's id.
    os.ftruncate(descriptor, 0)
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    os.close(descriptor)


def holds(workdir):
    """Whether this process holds the workdir's lock."""
    return os.path.abspath(workdir) in _held


def check_writable(workdir):
    """Makes sure files can be created in `workdir` (creating the folder if needed).

    `os.access` decides for ordinary users; a probe file catches what it cannot see
    (a read-only mount, a full disk). Root passes `os.access` on a mode-0555 folder and
    can write there, so for root such a folder is writable, rightly.

    Args:
      workdir: the run's folder.

    Raises:
      WorkdirError: the folder cannot be created or written; the message says what to do.
    """
    try:
        os.makedirs(workdir, exist_ok=True)
        if not os.access(workdir, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), workdir)
        with tempfile.TemporaryFile(dir=workdir, prefix=".gta_keras_probe_"):
            pass
    except OSError as error:
        raise not_writable_error(workdir, error) from error


def not_writable_error(workdir, error):
    """The `WorkdirError` for an `OSError` met while creating a file in `workdir`."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "Free space on its disk and rerun"
    else:
        advice = (f"Make it writable (chmod u+w {workdir}) and rerun, or give another "
                  "--workdir")
    return WorkdirError(f"Cannot write to the workdir {workdir} ({reason}); nothing was "
                        f"run. {advice}.")


def _read_pid(descriptor):
    """The process id in an open lock file, or None if it holds none (yet)."""
    os.lseek(descriptor, 0, os.SEEK_SET)
    text = os.read(descriptor, 32).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
