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
import numpy as np

from gta_keras import configurables
from gta_keras import experiment  # pylint: disable=unused-import  (registers configurables)
from gta_keras import runs

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


def summarize(runs):
    """Per method: mean and std of mIoU and of each class's IoU over seeds."""
    methods = {}
    for method in dict.fromkeys(run["method"] for run in runs):
        mine = [run for run in runs if run["method"] == method]
        classes = [name for name, value in mine[0]["per_class_iou"].items()
                   if value is not None]
        per_class = {
            name: _mean_std([run["per_class_iou"][name] for run in mine]) for name in classes}
        splits = mine[0]["miou_by_split"]
        methods[method] = {
            "miou": _mean_std([run["miou"] for run in mine]),
            "per_class_iou": per_class, "num_seeds": len(mine),
            "miou_by_split": {split: _mean_std([run["miou_by_split"][split] for run in mine])
                              for split in splits}}
    return methods


def markdown_table(methods):
    """Classes as rows, methods as columns, IoU mean ± std in percent."""
    names = list(methods)
    classes = list(methods[names[0]]["per_class_iou"])
    lines = ["| class | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for name in classes:
        cells = [_cell(methods[m]["per_class_iou"].get(name)) for m in names]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **mIoU** | " + " | ".join(
        f"**{_cell(methods[m]['miou'])}**" for m in names) + " |")
    return "\n".join(lines) + "\n"


def checkpoint_lines(runs):
    """Which checkpoint each method's runs were scored at, seed by seed."""
    lines = ["Checkpoints scored (step per seed):", ""]
    for method in dict.fromkeys(run["method"] for run in runs):
        mine = [run for run in runs if run["method"] == method]
        steps = ", ".join(str(run["checkpoint_step"]) for run in mine)
        lines.append(f"- {method}: {steps} ({mine[0]['checkpoint_selection']})")
    return "\n".join(lines) + "\n"


def _miou_by_split(run_dir):
    """mIoU of every split the run evaluated (e.g. the source's validation split too)."""
    folder = os.path.join(run_dir, runs.EVAL_DIR)
    scores = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            result = json.load(f)
        scores[f"{result['dataset']}:{result['split']}"] = result["miou"]
    return scores


def _mean_std(values):
    values = np.asarray([v if v is not None else np.nan for v in values], np.float64)
    return {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}


def _cell(stat):
    if stat is None:
        return "-"
    return f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f}"


def main(argv):
    del argv
    configurables.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    report = FLAGS.report or gin.query_parameter("evaluate.datasets")[0]
    runs.parse_dataset_spec(report)  # A malformed --report fails before any training.
    runs = []
    for method in FLAGS.methods:
        for seed in range(FLAGS.seeds):
            run_dir = os.path.join(FLAGS.workdir, f"{method}_seed{seed}")
            seconds = run_one(method, seed, run_dir)
            with open(runs.eval_path(run_dir, report)) as f:
                result = json.load(f)
            runs.append({"method": method, "seed": seed, "miou": result["miou"],
                         "per_class_iou": result["per_class_iou"], "seconds": seconds,
                         "miou_by_split": _miou_by_split(run_dir),
                         "checkpoint_step": result["checkpoint_step"],
                         "checkpoint_selection": result["checkpoint_selection"]})
            print(f"{method} seed {seed}: mIoU {100 * result['miou']:.1f} at step "
                  f"{result['checkpoint_step']} ({seconds:.0f} s)", flush=True)
    methods = summarize(runs)
    summary = {"report": report, "gin_files": FLAGS.gin_file,
               "gin_bindings": FLAGS.gin_bindings, "runs": runs, "methods": methods}
    with open(os.path.join(FLAGS.workdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    table = markdown_table(methods)
    splits = "".join(
        f"- {method}, {split}: {_cell(stat)}\n" for method, info in methods.items()
        for split, stat in info["miou_by_split"].items())
    text = (f"IoU (%) on {report}, mean ± std over {FLAGS.seeds} seeds\n\n{table}\n"
            f"mIoU (%) of every evaluated split:\n\n{splits}\n{checkpoint_lines(runs)}")
    with open(os.path.join(FLAGS.workdir, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    app.run(main)
