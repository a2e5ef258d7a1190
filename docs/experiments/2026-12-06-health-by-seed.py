"""Training-health figures of several runs side by side: is a weak run weak all along?

  .venv/bin/python docs/experiments/2026-12-06-health-by-seed.py [--parts=5] \
      runs/numerics_avx2/lsd_seed0 runs/numerics_avx2/lsd_seed1 ...

For each run folder, reads its event files with `scripts/plot_run.py`'s reader and prints
the source-validation mIoU (%) at every checkpoint, and the mean of a few of
`gta_keras.health`'s per-step terms over each of --parts equal stretches of the run: F's
segmentation loss, F's two cross-domain terms, and how often D calls target fakes
source-real and source fakes target-real (what F's cross-domain terms push towards). Used
in 2026-12-06-numeric-paths-avx2.md ("Why seed 4").
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":
    quiet.install()

import importlib.util
import logging
import os

from absl import app
from absl import flags
import numpy as np

flags.DEFINE_integer("parts", 5, "Stretches of the run to average the per-step terms over.")
FLAGS = flags.FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKPOINT_TAG = "checkpoint/source_validation_miou"
TERMS = ("loss_terms/f/segmentation", "loss_terms/f/cross_domain_source",
         "loss_terms/f/cross_domain_target", "confusion/tgt_fake_as_src_real",
         "confusion/src_fake_as_tgt_real")


def _plot_run():
    """scripts/plot_run.py as a module (a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location(
        "plot_run", os.path.join(ROOT, "scripts", "plot_run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe(run_dir, read_scalars, parts):
    """The lines printed for one run."""
    scalars = read_scalars(run_dir)
    lines = [run_dir, "  source-validation mIoU per checkpoint: " + " ".join(
        f"{100 * value:.0f}" for _, value in scalars.get(CHECKPOINT_TAG, []))]
    for tag in TERMS:
        values = np.array([value for _, value in scalars.get(tag, [])])
        means = [chunk.mean() for chunk in np.array_split(values, parts) if chunk.size]
        lines.append(f"  {tag} (mean per {parts}th of the run): "
                     + " ".join(f"{mean:.2f}" for mean in means))
    return lines


def main(argv):
    logging.getLogger("tensorboard").setLevel(logging.WARNING)  # as plot_run does
    read_scalars = _plot_run().read_scalars
    for run_dir in argv[1:]:
        print("\n".join(describe(run_dir, read_scalars, FLAGS.parts)))


if __name__ == "__main__":
    app.run(main)
