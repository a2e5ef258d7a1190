"""The errors a user's input or files cause, and how every command line reports them.

Each of these errors says what is wrong and what to do. A command line prints it as one
line, "<program>: <message>", and exits non-zero, instead of a traceback (for a checkpoint
that does not fit the configuration, TensorFlow's runs to hundreds of lines of variables).
"""

import contextlib
import gc
import logging
import os
import sys
import tokenize

from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import workdir_lock
from gta_keras.data import pipeline


class BadGinConfiguration(pipeline.ConfigurationError):
    """A gin file that is missing or malformed, or a binding nothing configurable takes."""


USER_ERRORS = (pipeline.DatasetUnavailableError, pipeline.ConfigurationError,
               checkpoints.CheckpointNotFoundError, checkpoints.CheckpointMismatchError,
               checkpoints.CorruptCheckpointError, checkpoints.DivergenceError,
               workdir_lock.WorkdirError)


def parse_gin(gin_files, gin_bindings=()):
    """`configurables.parse_gin`, with the user's mistakes as `BadGinConfiguration`.

    Raises:
      BadGinConfiguration: "bad gin configuration: <gin's first lines>" (gin adds the file
        and line it was in) for a missing gin file, an unknown configurable or parameter,
        or a malformed value.
    """
    try:
        configurables.parse_gin(gin_files, gin_bindings)
    except (FileNotFoundError, ValueError, SyntaxError, tokenize.TokenError) as error:
        first_lines = "\n".join(str(error).strip().splitlines()[:3])
        raise BadGinConfiguration(f"bad gin configuration: {first_lines}") from error


def message(error, program):
    """"<program>: <message>", without the "In call to configurable ..." lines gin appends
    to errors raised inside gin-configured functions: they name this package's functions
    (e.g. `train`), not anything the user gave."""
    return f"{program}: {configurables.without_gin_context(error)}"


def program_name():
    """The running script's name: "evaluate" for scripts/evaluate.py."""
    return os.path.splitext(os.path.basename(sys.argv[0]))[0]


@contextlib.contextmanager
def exit_in_one_line(program=None):
    """Exits with `message` on any of USER_ERRORS raised inside.

    Args:
      program: the name the message starts with; None for the running script's.
    """
    try:
        yield
    except USER_ERRORS as error:
        text = message(error, program or program_name())
    else:
        return
    # What the error left behind, e.g. a half-restored checkpoint, makes TensorFlow log a
    # page of "unrestored values" warnings when it is deleted: some now, the rest at exit
    # (the exit's own exception still refers to the error). Its warnings stay off from
    # here on, so that the message is the last thing printed, not buried above them; the
    # process is ending (a test that catches the SystemExit keeps them off).
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    gc.collect()
    sys.exit(text)
