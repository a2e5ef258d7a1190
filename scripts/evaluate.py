"""Scores a trained checkpoint or an exported SavedModel with Keras `evaluate`.

Checkpoint (the model is rebuilt from the run's gin files; the gin's checkpoint_selection
rule picks which kept checkpoint, as in the CLI):
  python scripts/evaluate.py --gin_file=gin/demo.gin --workdir=runs/demo

SavedModel (what TF Serving would run):
  python scripts/evaluate.py --gin_file=gin/demo.gin --workdir=runs/demo \
      --saved_model=runs/demo/export/1500

Datasets default to the gin file's `evaluate.datasets`; `--dataset=name:split` overrides.
Results go to `<workdir>/eval/` (checkpoint) or `<workdir>/eval_saved_model/` (SavedModel).
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

from absl import app
from absl import flags

from gta_keras import experiment
from gta_keras import predictors
from gta_keras import runs
from gta_keras import selection
from gta_keras import user_errors

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin files of the run.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")
flags.DEFINE_string("workdir", None, "The run's folder.")
flags.DEFINE_string("saved_model", None, "Score this SavedModel instead of a checkpoint.")
flags.DEFINE_multi_string("dataset", [], "name:split to score (default: the gin file's).")
flags.DEFINE_string("data_dir", None, "TFDS data dir.")
flags.DEFINE_string("manual_dir", None, "Folder of manual downloads.")
flags.mark_flag_as_required("workdir")


def main(argv):
    del argv
    # A bad gin binding, a checkpoint that does not fit the gin files, a missing
    # dataset...: one line, as the command line prints it.
    with user_errors.exit_in_one_line():
        user_errors.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
        _evaluate()


def _evaluate():
    """Scores the SavedModel or the run's selected checkpoint on each dataset."""
    kwargs = {"data_dir": FLAGS.data_dir, "manual_dir": FLAGS.manual_dir}
    if FLAGS.dataset:  # Otherwise the gin file's `evaluate.datasets`.
        kwargs["datasets"] = FLAGS.dataset
    if FLAGS.saved_model:
        experiment.evaluate(predictors.from_saved_model(FLAGS.saved_model), FLAGS.workdir,
                            eval_dir=runs.EVAL_SAVED_MODEL_DIR, **kwargs)
        return
    model, checkpointer = experiment.restore(FLAGS.workdir)
    selected_by = experiment.select_checkpoint(
        model, checkpointer, FLAGS.workdir, selection.checkpoint_selection(),
        data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir)
    experiment.evaluate(predictors.from_model(model, checkpointer.step, selected_by),
                        FLAGS.workdir, **kwargs)


if __name__ == "__main__":
    app.run(main)
