"""Draws a run's training-health curves into one PNG, for a look without TensorBoard.

  python scripts/plot_run.py DIR [--output=PNG]

DIR is a run's folder (`--workdir`; its `logs/` are read) or any folder holding event files,
in it or below. The PNG (default `DIR/figures/training_health.png`) has a panel for each
player's loss terms (D, G, F: `loss_terms/...` of `gta_keras.health`), one for the four
loss sums per epoch (Keras' `logs/train`), one for the source-validation mIoU at each
checkpoint, and one per row of D's domain confusion (how often D calls src-real inputs
src-real, src-fake, tgt-real, tgt-fake, ...). Panels without data are left out. A resumed
run's repeated steps keep their newest value. Keras counts its sums by epoch; with the
run's `operative_config.gin` (its `train.steps_per_epoch`) they are drawn at the step each
epoch ends, like the rest.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import collections
import logging
import os
import re

from absl import app
from absl import flags
import matplotlib
matplotlib.use("Agg")  # Files only: no display on a server.
from matplotlib import pyplot  # pylint: disable=g-import-not-at-top,wrong-import-position
from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top,wrong-import-position
from tensorboard.util import tensor_util  # pylint: disable=g-import-not-at-top,wrong-import-position

from gta_keras import health  # pylint: disable=g-import-not-at-top,wrong-import-position
from gta_keras import runs  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
flags.DEFINE_string("output", None,
                    "The PNG to write (default: DIR/figures/training_health.png).")

FIGURE_NAME = "training_health.png"
STEPS_PER_EPOCH = re.compile(r"^train\.steps_per_epoch\s*=\s*(\d+)\s*$", re.MULTILINE)
SUMS = ("d_loss", "g_loss", "f_loss", "seg_loss")
PLAYER_TITLES = {"d": "D's loss terms", "g": "G's loss terms", "f": "F and C's loss terms"}
COLUMNS = 3
PANEL_SIZE = (5.0, 3.4)  # inches


def event_folders(directory):
    """The folders under `directory` (itself included) that hold event files, sorted."""
    folders = []
    for folder, _, files in os.walk(directory):
        if any("tfevents" in name for name in files):
            folders.append(folder)
    return sorted(folders)


def read_scalars(directory):
    """Every scalar of the event files under `directory`.

    Returns:
      {tag: [(step, value), ...] by step}; a step written twice (a resumed run) keeps the
      value written last. Keras' epoch scalars keep their "epoch_" tags.
    """
    scalars = collections.defaultdict(dict)
    for folder in event_folders(directory):
        # 0: keep every event (TensorBoard's UI samples them down by default).
        events = event_accumulator.EventAccumulator(
            folder, size_guidance={event_accumulator.TENSORS: 0,
                                   event_accumulator.SCALARS: 0})
        events.Reload()
        for tag in events.Tags()[event_accumulator.TENSORS]:
            if events.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
                continue  # Images.
            for event in events.Tensors(tag):
                scalars[tag][event.step] = float(tensor_util.make_ndarray(event.tensor_proto))
        for tag in events.Tags()[event_accumulator.SCALARS]:  # TF1-style summaries.
            for event in events.Scalars(tag):
                scalars[tag][event.step] = event.value
    return {tag: sorted(values.items()) for tag, values in scalars.items()}


def steps_per_epoch(directory):
    """`train.steps_per_epoch` from a run folder's operative_config.gin, or None."""
    path = runs.operative_config_path(directory)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        found = STEPS_PER_EPOCH.search(f.read())
    return int(found[1]) if found else None


def panels(scalars, epoch_steps=None):
    """The figure's panels.

    Args:
      scalars: `read_scalars`'s dict.
      epoch_steps: the run's steps per epoch, to draw Keras' epoch sums at steps; None
        leaves them by epoch.

    Returns:
      A list of (title, x label, {curve label: [(x, value), ...]}).
    """
    result = []
    for player, title in PLAYER_TITLES.items():
        prefix = f"{health.TERM_PREFIX}{player}/"
        curves = {tag[len(prefix):]: values for tag, values in scalars.items()
                  if tag.startswith(prefix)}
        if curves:
            result.append((title, "step", curves))
    sums = {name: scalars[f"epoch_{name}"] for name in SUMS if f"epoch_{name}" in scalars}
    if sums and epoch_steps:  # Keras numbers epochs from 0; epoch e ends at (e + 1) N.
        sums = {name: [((epoch + 1) * epoch_steps, value) for epoch, value in values]
                for name, values in sums.items()}
    if sums:
        result.append(("loss sums, mean per epoch", "step" if epoch_steps else "epoch",
                       sums))
    if health.MIOU_TAG in scalars:
        result.append(("source-validation mIoU at each checkpoint", "step",
                       {"mIoU": scalars[health.MIOU_TAG]}))
    for domains in (health.IMAGE_D_DOMAINS, health.FEATURE_D_DOMAINS):
        for row, tags in zip(domains, health.confusion_tags(domains)):
            curves = {f"as {column}": scalars[tag] for column, tag in zip(domains, tags)
                      if tag in scalars}
            if curves:
                result.append((f"D's decisions on {row} inputs (rate)", "step", curves))
    return result


def plot(scalars, path, title, epoch_steps=None):
    """Writes the panels of `scalars` into one PNG at `path`; returns the panel count.

    Args:
      scalars: `read_scalars`'s dict.
      path: the PNG.
      title: the figure's title.
      epoch_steps: see `panels`.

    Raises:
      ValueError: when there is nothing to draw.
    """
    drawn = panels(scalars, epoch_steps)
    if not drawn:
        raise ValueError("No training-health scalars found: train with gta_keras (it writes "
                         "them to <workdir>/logs/) and give that run's folder.")
    rows = -(-len(drawn) // COLUMNS)
    figure, axes = pyplot.subplots(rows, COLUMNS, squeeze=False,
                                   figsize=(PANEL_SIZE[0] * COLUMNS, PANEL_SIZE[1] * rows))
    for axis, (panel_title, x_label, curves) in zip(axes.flat, drawn):
        for label, values in curves.items():
            steps, ys = zip(*values)
            axis.plot(steps, ys, marker="." if len(steps) < 30 else None, label=label)
        axis.set_title(panel_title, fontsize=10)
        axis.set_xlabel(x_label, fontsize=8)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(drawn):]:
        axis.axis("off")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=80)
    pyplot.close(figure)
    return len(drawn)


def main(argv):
    # TensorBoard's reader logs an INFO line per event file it finishes.
    logging.getLogger("tensorboard").setLevel(logging.WARNING)
    if len(argv) != 2:
        raise app.UsageError("Give one folder: python scripts/plot_run.py DIR")
    directory = argv[1]
    if not os.path.isdir(directory):
        raise app.UsageError(f"{directory} is not a folder.")
    logs = runs.log_dir(directory)
    scalars = read_scalars(logs if os.path.isdir(logs) else directory)
    output = FLAGS.output or os.path.join(directory, runs.FIGURE_DIR, FIGURE_NAME)
    try:
        count = plot(scalars, output, os.path.abspath(directory), steps_per_epoch(directory))
    except ValueError as error:
        raise app.UsageError(f"{error} (read {directory})") from error
    print(f"Wrote {output} ({count} panels)", flush=True)


if __name__ == "__main__":
    app.run(main)
