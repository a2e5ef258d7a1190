"""Command line: `python -m gta_keras.main --gin_file=gin/demo.gin --workdir=runs/demo`."""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import sys
import tokenize

from absl import app
from absl import flags
from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import run_flags  # pylint: disable=unused-import  (--gin_file, --workdir)
from gta_keras import workdir_lock
from gta_keras.data import pipeline

FLAGS = flags.FLAGS
flags.DEFINE_enum("mode", None, list(experiment.MODES),
                  "train, evaluate or export; none runs all three in turn.")
flags.DEFINE_string("data_dir", None, "TFDS data dir (default ~/tensorflow_datasets).")
flags.DEFINE_string("manual_dir", None,
                    "Folder of manually downloaded dataset archives (SYNTHIA, GTA5, "
                    "Cityscapes, CamVid).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.gin_file:
        raise app.UsageError("Give at least one --gin_file, e.g. --gin_file=gin/demo.gin.")
    try:
        configurables.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    except (FileNotFoundError, ValueError, SyntaxError, tokenize.TokenError) as error:
        # A missing gin file, an unknown configurable or parameter, a malformed value.
        sys.exit(f"gta_keras: bad gin configuration: {_first_lines(error)}")
    try:
        experiment.run(FLAGS.workdir, FLAGS.mode, data_dir=FLAGS.data_dir,
                       manual_dir=FLAGS.manual_dir)
    except (pipeline.DatasetUnavailableError, checkpoints.CheckpointNotFoundError,
            checkpoints.CheckpointMismatchError, checkpoints.CorruptCheckpointError,
            checkpoints.DivergenceError, pipeline.ConfigurationError,
            workdir_lock.WorkdirError) as error:
        # What is wrong and what to do, without a traceback.
        sys.exit(format_error(error))


def format_error(error):
    """What the command line prints for a user's error: "gta_keras: <message>".

    Without the "In call to configurable ..." lines gin appends to errors raised inside
    gin-configured functions: they name this package's functions (e.g. `train`), not
    anything the user gave.
    """
    return f"gta_keras: {configurables.without_gin_context(error)}"


def _first_lines(error, limit=3):
    """The first lines of an error's message (gin adds the file and line it was in)."""
    return "\n".join(str(error).strip().splitlines()[:limit])


if __name__ == "__main__":
    # Required here, not at import: `predict` shares --workdir and does not need it.
    flags.mark_flag_as_required("workdir")
    app.run(main)
