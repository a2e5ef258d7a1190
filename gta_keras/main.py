"""Command line: `python -m gta_keras.main --gin_file=gin/demo.gin --workdir=runs/demo`."""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

from absl import app
from absl import flags
from gta_keras import experiment
from gta_keras import run_flags  # pylint: disable=unused-import  (--gin_file, --workdir)
from gta_keras import user_errors

FLAGS = flags.FLAGS
PROGRAM = "gta_keras"  # How its one-line errors start.
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
    # What is wrong and what to do, without a traceback.
    with user_errors.exit_in_one_line(PROGRAM):
        user_errors.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
        experiment.run(FLAGS.workdir, FLAGS.mode, data_dir=FLAGS.data_dir,
                       manual_dir=FLAGS.manual_dir)


if __name__ == "__main__":
    # Required here, not at import: `predict` shares --workdir and does not need it.
    flags.mark_flag_as_required("workdir")
    app.run(main)
