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

from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import workdir_lock
from gta_keras.data import pipeline

USER_ERRORS = (pipeline.DatasetUnavailableError, pipeline.ConfigurationError,
               checkpoints.CheckpointNotFoundError, checkpoints.CheckpointMismatchError,
               checkpoints.CorruptCheckpointError, checkpoints.DivergenceError,
               workdir_lock.WorkdirError)


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
    # Out of the except block the error's traceback is gone, and with it what its frames
    # held, e.g. a half-restored checkpoint, whose deletion makes TensorFlow log a page of
    # "unrestored values" warnings. Free those now, quietly, so that the message is the
    # last thing printed rather than buried above them at exit.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    gc.collect()
    sys.exit(text)
