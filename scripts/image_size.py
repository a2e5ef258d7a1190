"""Paper Table 3 as a command: source-only and lsd at several image sizes, with timings.

  python scripts/image_size.py --gin_file=gin/demo.gin --workdir=runs/image_size \
      [--sizes=64x128,96x192,128x256] [--methods=source_only,lsd] [--seeds=1]

Sizes are HEIGHTxWIDTH, as gin's (height, width) (the paper writes width x height: its
512x256, 640x320 and 1024x512 are 256x512, 320x640 and 512x1024 here); sides must divide
by 32. Each (size, method, seed) is the real command line in its own process, in
`DIR/<H>x<W>/<method>_seed<k>/`, with the shared gin files, the method's layer
`gin/ablations/<method>.gin`, `train.seed = k`, the shared `--gin_bindings`, and last (so
that they win) the size:

  make_train_dataset.image_size = (H, W)   # the training crops
  segmenter.eval_size = (H, W)             # evaluation predicts at the training size
  training_health.every_steps = 0          # no health summaries, which would be timed

Everything else is the gin files': steps, batch, learning rates, `min_crop_fraction` (so a
crop covers the same share of the frame at every size and only its resolution changes, the
paper's "resized and cropped"). What follows from the size: D's outputs are at 1/8 of it
(8x16 at 64x128, 16x32 at 128x256; D's receptive field is fixed in pixels, so each patch
covers less of the scene as the size grows), F's fc7 at 1/32 (2x4 to 4x8); under
`build_model.reduction = 'sum'` every cross-entropy sums over pixels, so all terms grow
with H*W together and their ratios stay; under 'mean' nothing changes. The demo's frames are
128x256: larger sizes would upsample them.

Finished runs (an eval JSON for the reported split at this size) are not run again; one
that stopped part way resumes. Per run, measured in that run on this machine:

- mIoU on the reported split (the first of `evaluate.datasets` unless `--report`);
- training seconds per image: epoch-to-epoch wall time of the training process from its
  TensorBoard epoch events, divided by steps x batch (a batch-8 step counts 8 images, as
  the paper's batch-1 iteration counts one); each process's first epoch is left out (the
  train step's trace, the first shuffle-buffer fill); the checkpoint save at each epoch's
  end is in (`gta_keras/timing.py`);
- evaluation seconds per image: the reported split's scoring (Keras `evaluate`, prediction
  at the size, upsampling to the labels, the confusion matrix) over the batches after the
  first (the first holds the trace), from the eval JSON.

Writes `DIR/image_size.json` (every run, per size and method mean ± std, gains over
source_only paired by seed, the machine) and `DIR/image_size.md`, a Table-3-style table.
See docs/ablations.md, "Image size".
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import os
import re
import subprocess

from absl import app
from absl import flags
import numpy as np

from gta_keras import experiment  # pylint: disable=unused-import  (registers configurables)
from gta_keras import machine
from gta_keras import runners
from gta_keras import summaries
from gta_keras import timing
from gta_keras import user_errors
from gta_keras.models import adaptation_model

DEFAULT_SIZES = ("64x128", "96x192", "128x256")
DEFAULT_METHODS = ("source_only", "lsd")
# Table 3, SYNTHIA -> Cityscapes; sizes as here (height x width). Times per image: the
# paper's, for its method, on its GPU.
PAPER_TABLE_3 = {
    "256x512": {"source_only": 21.5, "lsd": 31.3, "train_seconds": 1.5, "eval_seconds": 0.16},
    "320x640": {"source_only": 23.2, "lsd": 34.5, "train_seconds": 2.1, "eval_seconds": 0.19},
    "512x1024": {"source_only": 26.8, "lsd": 36.1, "train_seconds": 2.9, "eval_seconds": 0.3},
}
# Read from the shared configuration: to turn epoch times into seconds per image.
TIMING_PARAMETERS = ("train.steps_per_epoch", "make_train_dataset.batch_size")

FLAGS = flags.FLAGS


def _define_flags():
    """The command's flags; defined only when run as a program, so that tests can import
    this module beside the other runners (absl refuses one flag name from two modules)."""
    runners.define_flags()
    flags.DEFINE_list("sizes", list(DEFAULT_SIZES), "Sizes HEIGHTxWIDTH, sides divisible "
                      "by 32.")
    flags.DEFINE_list("methods", list(DEFAULT_METHODS), "Methods to run at each size.")
    flags.DEFINE_integer("seeds", 1, "Seeds per (size, method): 0 .. seeds-1.")


def parse_size(text):
    """"64x128" -> (64, 128): height x width, sides positive and divisible by 32.

    Raises:
      ValueError: for anything else, saying what a size looks like.
    """
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match:
        raise ValueError(f"Size {text!r} must read HEIGHTxWIDTH, e.g. 64x128.")
    height, width = int(match.group(1)), int(match.group(2))
    if not height or not width or height % 32 or width % 32:
        raise ValueError(f"Size {text!r}: both sides must be positive multiples of 32 (F's "
                         "output stride), e.g. 64x128, 96x192, 128x256.")
    return height, width


def size_name(size):
    """(64, 128) -> "64x128"."""
    return f"{size[0]}x{size[1]}"


def size_bindings(size):
    """The bindings that set one size (see the module docstring)."""
    return [f"make_train_dataset.image_size = {tuple(size)}",
            f"segmenter.eval_size = {tuple(size)}",
            # At each checkpoint the health callback scores the source's validation split:
            # that would count as training time, and more so at the small sizes.
            "training_health.every_steps = 0"]


def is_finished(run_dir, report, method, size):
    """`runners.is_finished`, and the finished run was evaluated at `size`.

    Raises:
      ValueError: the folder holds a run of another method or size.
    """
    if not runners.is_finished(run_dir, report, method):
        return False
    scored = runners.read_eval(run_dir, report).get("eval_size")
    if scored != list(size):
        raise ValueError(f"{run_dir} holds a run evaluated at {scored}, not {list(size)}; "
                         "use another --workdir or remove that run.")
    return True


def run_record(method, seed, size, run_dir, report, timing_settings):
    """`summaries.run_record` plus the size and the run's seconds per image."""
    record = summaries.run_record(method, seed, run_dir, report, runners.seconds(run_dir))
    result = runners.read_eval(run_dir, report)
    record.update(size=size_name(size), image_size=list(size))
    record.update(timing.training_seconds_per_image(
        run_dir, timing_settings["train.steps_per_epoch"],
        timing_settings["make_train_dataset.batch_size"]))
    after_first = result.get("eval_seconds_per_image_after_first_batch")
    # One batch only (a small split): its time holds the trace, but it is all there is.
    record["eval_seconds_per_image"] = (after_first if after_first is not None
                                        else result.get("eval_seconds_per_image"))
    return record


def summarize(records, report, sizes, seeds, gin_files=(), gin_bindings=()):
    """The image_size.json content from the run records (`run_record`)."""
    by_size = {}
    for size in sizes:
        mine = [r for r in records if r["size"] == size_name(size)]
        methods = summaries.summarize(mine)
        for name, info in methods.items():
            runs = [r for r in mine if r["method"] == name]
            for key in ("train_seconds_per_image", "eval_seconds_per_image", "seconds"):
                info[key] = _mean(r.get(key) for r in runs)
        by_size[size_name(size)] = {"methods": methods,
                                    "gains": summaries.paired_gains(mine)}
    return {"report": report, "sizes": [size_name(s) for s in sizes], "seeds": list(seeds),
            "gin_files": list(gin_files), "gin_bindings": list(gin_bindings),
            "runs": records, "by_size": by_size, "paper_table_3": PAPER_TABLE_3,
            "oracle": summaries.any_oracle(records),
            "machine": summaries.runs_machine([summaries.DEFAULT_NUMERICS])}


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def markdown_table(summary):
    """Table 3's rows for the sizes run: mIoU per method (lsd's gain), seconds per image."""
    sizes, by_size = summary["sizes"], summary["by_size"]
    methods = list(dict.fromkeys(m for s in sizes for m in by_size[s]["methods"]))
    lines = ["| | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(sizes)]
    for method in methods:
        cells = [_miou_cell(by_size[s], method) for s in sizes]
        label = summaries.method_label(method, by_size[sizes[0]]["methods"].get(method, {}))
        lines.append(f"| mIoU (%), {label} | " + " | ".join(cells) + " |")
    for key, what in (("train_seconds_per_image", "Train time per image"),
                      ("eval_seconds_per_image", "Eval time per image")):
        for method in methods:
            cells = [_seconds_cell(by_size[s]["methods"].get(method, {}).get(key))
                     for s in sizes]
            lines.append(f"| {what}, {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _miou_cell(size_summary, method):
    info = size_summary["methods"].get(method)
    if info is None:
        return "-"
    gain = size_summary["gains"].get(method)
    extra = f" (**{summaries.points(gain['stats']['mean'])}**)" if gain else ""
    return summaries.cell(info["miou"]) + extra


def _seconds_cell(value):
    return "-" if value is None else f"{value:.4f} s"


def paper_table():
    """The paper's Table 3 in this table's layout, sizes as height x width."""
    sizes = list(PAPER_TABLE_3)
    rows = [("mIoU (%), source_only", lambda p: f"{p['source_only']:.1f}"),
            ("mIoU (%), lsd", lambda p: f"{p['lsd']:.1f} "
             f"(**{p['lsd'] - p['source_only']:+.1f}**)"),
            ("Train time per image, lsd", lambda p: f"{p['train_seconds']} s"),
            ("Eval time per image, lsd", lambda p: f"{p['eval_seconds']} s")]
    lines = ["| | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(sizes)]
    lines += [f"| {name} | " + " | ".join(cell(PAPER_TABLE_3[s]) for s in sizes) + " |"
              for name, cell in rows]
    return "\n".join(lines) + "\n"


def report_text(summary):
    """image_size.md: the table, how it was measured, the paper's, checkpoints, machine."""
    oracle = summaries.oracle_text(summary["runs"])
    seeds = ", ".join(str(s) for s in summary["seeds"])
    seconds = "".join(
        f"- {size}, {name}: {info['seconds']:.0f} s per run\n"
        for size in summary["sizes"]
        for name, info in summary["by_size"][size]["methods"].items()
        if info.get("seconds") is not None)
    return (f"{oracle + chr(10) if oracle else ''}"
            f"mIoU (%) on {summary['report']}, mean ± std ({summaries.STD_NOTE}) over seeds "
            f"{seeds} (in bold: the "
            f"mean gain over source_only, paired by seed); sizes height x width. Seconds "
            f"per image measured in each run on this machine: training from epoch to epoch "
            f"(each process's first epoch left out), evaluation of the reported split "
            f"after its first batch (scripts/image_size.py).\n\n"
            f"{markdown_table(summary)}\n"
            f"The paper's Table 3 (SYNTHIA→Cityscapes, its GPU; times for its method):\n\n"
            f"{paper_table()}\n"
            f"Shared gin files: {', '.join(summary['gin_files']) or '-'}; bindings: "
            f"{'; '.join(summary['gin_bindings']) or '-'}.\n\n"
            f"{summaries.checkpoint_lines(summary['runs'])}\n"
            f"Wall time of training, evaluation and export:\n\n{seconds or '-'}\n"
            f"Machine: {machine.one_line(summary['machine'])}.\n")


def write(summary, workdir):
    """Writes DIR/image_size.json and DIR/image_size.md; returns the markdown."""
    return runners.write_summary(workdir, "image_size", summary, report_text(summary))


def run(gin_files, workdir, sizes=DEFAULT_SIZES, methods=DEFAULT_METHODS, seeds=1,
        gin_bindings=(), report=None, data_dir=None, run_fn=subprocess.run):
    """Trains and evaluates each unfinished (size, method, seed), then writes the table.

    Args:
      gin_files: gin files shared by every run.
      workdir: folder of the runs, image_size.json and image_size.md.
      sizes: "HxW" strings or (height, width) pairs.
      methods: methods to run at each size (`adaptation_model.METHODS`).
      seeds: seeds per (size, method), 0 .. seeds-1.
      gin_bindings: bindings shared by every run (the sizes' come after them).
      report: "name:split" of the table; None for the first of `evaluate.datasets`.
      data_dir: TFDS data dir.
      run_fn: runs a command (`subprocess.run`; tests inject a fake); called with
        `check=True` and `env=None`.

    Returns:
      The summary written to image_size.json.

    Raises:
      ValueError: a malformed size, an unknown method, no seeds, or (before any run) a
        malformed report or a target-labelled checkpoint choice without the flag.
    """
    sizes = [parse_size(s) if isinstance(s, str) else parse_size(size_name(s))
             for s in sizes]
    unknown = [m for m in methods if m not in adaptation_model.METHODS]
    if unknown:
        raise ValueError(f"Unknown methods {unknown}; use any of {adaptation_model.METHODS}.")
    if seeds < 1:
        raise ValueError(f"--seeds={seeds}: run at least one seed.")
    report, timing_settings = runners.read_config(gin_files, gin_bindings, report,
                                                  TIMING_PARAMETERS)
    records = []
    for size in sizes:
        for method in methods:
            for seed in range(seeds):
                records.append(_run_one(size, method, seed, workdir, report, gin_files,
                                        gin_bindings, data_dir, run_fn, timing_settings))
    summary = summarize(records, report, sizes, range(seeds), gin_files, gin_bindings)
    print(write(summary, workdir))
    return summary


def _run_one(size, method, seed, workdir, report, gin_files, gin_bindings, data_dir, run_fn,
             timing_settings):
    """Runs one (size, method, seed) unless finished; returns its record."""
    run_dir = os.path.join(workdir, size_name(size), f"{method}_seed{seed}")
    label = f"{size_name(size)} {method} seed {seed}"
    if is_finished(run_dir, report, method, size):
        print(f"{label}: finished, not run again", flush=True)
    else:
        line = runners.command(run_dir, gin_files, seed,
                               [*gin_bindings, *size_bindings(size)],
                               runners.layer_path(method), data_dir)
        runners.run_timed(line, run_dir, run_fn)
    record = run_record(method, seed, size, run_dir, report, timing_settings)
    print(f"{label}: mIoU {100 * record['miou']:.1f}, train "
          f"{_seconds_cell(record['train_seconds_per_image'])}/image, eval "
          f"{_seconds_cell(record['eval_seconds_per_image'])}/image", flush=True)
    return record


def main(argv):
    del argv
    try:
        sizes = [parse_size(s) for s in FLAGS.sizes]
    except ValueError as error:  # A typo in --sizes: usage, not a traceback.
        raise app.UsageError(str(error)) from error
    with user_errors.exit_in_one_line():
        run(FLAGS.gin_file, FLAGS.workdir, sizes, FLAGS.methods, FLAGS.seeds,
            FLAGS.gin_bindings, FLAGS.report, FLAGS.data_dir)


if __name__ == "__main__":
    _define_flags()
    app.run(main)
