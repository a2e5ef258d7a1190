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

import os

from absl import app
from absl import flags
import gin

from gta_keras import configurables
from gta_keras import evaluation
from gta_keras import experiment
from gta_keras import export

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin files of the run.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")
flags.DEFINE_string("workdir", None, "The run's folder.")
flags.DEFINE_string("saved_model", None, "Score this SavedModel instead of a checkpoint.")
flags.DEFINE_multi_string("dataset", [], "name:split to score (default: the gin file's).")
flags.DEFINE_string("data_dir", None, "TFDS data dir.")
flags.DEFINE_string("manual_dir", None, "Folder of manual downloads.")
flags.mark_flag_as_required("workdir")


def _evaluate_saved_model(path, datasets):
    predict_classes = export.load_predictor(path)
    for spec in datasets:
        name, _, split = spec.rpartition(":")
        summary = experiment.score_split(
            predict_classes, gin.query_parameter("build_model.num_classes"), name, split,
            gin.query_parameter("evaluate.batch_size"),
            _query_or("evaluate.report_protocols", False), data_dir=FLAGS.data_dir,
            manual_dir=FLAGS.manual_dir)
        summary.update(saved_model=path)
        out = os.path.join(FLAGS.workdir, "eval_saved_model",
                           f"{name.replace('/', '_')}_{split}.json")
        evaluation.write_json(summary, out)
        print(f"\n{spec} (SavedModel {path})\n{evaluation.format_table(summary)}")


def _query_or(parameter, default):
    try:
        return gin.query_parameter(parameter)
    except ValueError:
        return default


def main(argv):
    del argv
    configurables.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    datasets = FLAGS.dataset or list(gin.query_parameter("evaluate.datasets"))
    if FLAGS.saved_model:
        _evaluate_saved_model(FLAGS.saved_model, datasets)
        return
    model, checkpointer = experiment.restore(FLAGS.workdir)
    selected_by = experiment.select_checkpoint(
        model, checkpointer, FLAGS.workdir, experiment.checkpoint_selection(),
        data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir)
    experiment.evaluate(model, checkpointer, FLAGS.workdir, datasets=datasets,
                        selected_by=selected_by, data_dir=FLAGS.data_dir,
                        manual_dir=FLAGS.manual_dir)


if __name__ == "__main__":
    app.run(main)
