"""Trains and evaluates each (method, seed) and summarises mean ± std per class.

  python scripts/seeds.py --gin_file=gin/demo.gin --methods=source_only,lsd --seeds=3 \
      --workdir=runs/seeds

Each run is the real command line in its own process (`DIR/<method>_seed<k>/`), so runs are
independent and a finished one is not trained again (it is evaluated again, with the gin
file's checkpoint rule). The reported split is the first of
the gin file's `evaluate.datasets` unless `--report` names another. Writes
`DIR/summary.json` and `DIR/summary.md`.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import json
import os
import subprocess
import sys
import time

from absl import app
from absl import flags
import gin

from gta_keras import configurables
from gta_keras import experiment  # pylint: disable=unused-import  (registers configurables)
from gta_keras import machine
from gta_keras import runs
from gta_keras import summaries

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin files shared by every run.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra bindings shared by every run.")
flags.DEFINE_list("methods", ["source_only", "lsd"], "Methods to compare.")
flags.DEFINE_integer("seeds", 3, "Seeds per method: 0 .. seeds-1.")
flags.DEFINE_string("workdir", None, "Folder of all runs and the summary.")
flags.DEFINE_string("report", None, "name:split whose mIoU is summarised.")
flags.DEFINE_string("data_dir", None, "TFDS data dir.")
flags.mark_flag_as_required("workdir")


def run_one(method, seed, run_dir):
    """Trains, evaluates and exports one (method, seed) through the CLI; returns seconds."""
    command = [sys.executable, "-m", "gta_keras.main", f"--workdir={run_dir}",
               f"--gin_bindings=build_model.method = '{method}'",
               f"--gin_bindings=train.seed = {seed}", "--gin_bindings=train.verbose = 0"]
    command += [f"--gin_file={path}" for path in FLAGS.gin_file]
    command += [f"--gin_bindings={binding}" for binding in FLAGS.gin_bindings]
    if FLAGS.data_dir:
        command.append(f"--data_dir={FLAGS.data_dir}")
    start = time.time()
    subprocess.run(command, check=True)
    return time.time() - start


# Shared with scripts/ablation.py.
summarize = summaries.summarize
checkpoint_lines = summaries.checkpoint_lines
markdown_table = summaries.per_class_table
_cell = summaries.cell


def main(argv):
    del argv
    configurables.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    report = FLAGS.report or gin.query_parameter("evaluate.datasets")[0]
    runs.parse_dataset_spec(report)  # A malformed --report fails before any training.
    records = []
    for method in FLAGS.methods:
        for seed in range(FLAGS.seeds):
            run_dir = os.path.join(FLAGS.workdir, f"{method}_seed{seed}")
            seconds = run_one(method, seed, run_dir)
            record = summaries.run_record(method, seed, run_dir, report, seconds)
            records.append(record)
            print(f"{method} seed {seed}: mIoU {100 * record['miou']:.1f} at step "
                  f"{record['checkpoint_step']} ({seconds:.0f} s)", flush=True)
    methods = summarize(records)
    stamp = machine.describe()
    summary = {"report": report, "gin_files": FLAGS.gin_file,
               "gin_bindings": FLAGS.gin_bindings, "runs": records, "methods": methods,
               "machine": stamp}
    with open(os.path.join(FLAGS.workdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    table = markdown_table(methods)
    splits = "".join(
        f"- {method}, {split}: {_cell(stat)}\n" for method, info in methods.items()
        for split, stat in info["miou_by_split"].items())
    text = (f"IoU (%) on {report}, mean ± std over {FLAGS.seeds} seeds\n\n{table}\n"
            f"mIoU (%) of every evaluated split:\n\n{splits}\n{checkpoint_lines(records)}\n"
            f"Machine: {machine.one_line(stamp)}.\n")
    with open(os.path.join(FLAGS.workdir, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    app.run(main)
