"""A run's folder, and the "name:split" dataset specs every command reads.

One place for the layout, so that the CLI, the scripts and the tests find the same files:

    <workdir>/checkpoints/               tf.train checkpoints (gta_keras.checkpoints)
    <workdir>/logs/                      TensorBoard scalars (logs/health: gta_keras.health)
    <workdir>/operative_config.gin       the gin settings the run trained with
    <workdir>/best_checkpoint/           the best checkpoint seen in training (track_best)
    <workdir>/best_checkpoint.json       its scores, every `train.track_best_every` steps
    <workdir>/checkpoint_selection.json  which checkpoint was scored, and why
    <workdir>/eval/<name>_<split>.json   scores of the selected checkpoint
    <workdir>/eval_saved_model/...       scores of an exported SavedModel
    <workdir>/export/<step>/             the SavedModel for TF Serving
    <workdir>/figures/predictions.png    a look at a few predictions
    <workdir>/figures/training_health.png  scripts/plot_run.py's curves
"""

import os

LOG_DIR = "logs"
EVAL_DIR = "eval"
EVAL_SAVED_MODEL_DIR = "eval_saved_model"
EXPORT_DIR = "export"
FIGURE_DIR = "figures"
OPERATIVE_CONFIG = "operative_config.gin"
SELECTION_FILE = "checkpoint_selection.json"
BEST_RECORD = "best_checkpoint.json"
PREDICTIONS_FIGURE = "predictions.png"


def parse_dataset_spec(spec):
    """Splits "name:split" (the name may hold a config: "procedural_streets/realistic").

    Args:
      spec: e.g. "cityscapes/semantic_segmentation:validation".

    Returns:
      (name, split).

    Raises:
      ValueError: when `spec` is not "name:split".
    """
    name, sep, split = str(spec).rpartition(":")
    if not sep or not name or not split:
        raise ValueError(f"Dataset {spec!r} must read 'name:split', e.g. "
                         "'procedural_streets/realistic:validation'.")
    return name, split


def eval_file_name(spec):
    """The eval JSON's file name for "name:split": slashes and colons become "_"."""
    name, split = parse_dataset_spec(spec)
    return f"{name.replace('/', '_').replace(':', '_')}_{split}.json"


def eval_path(workdir, spec, eval_dir=EVAL_DIR):
    """`<workdir>/<eval_dir>/<name>_<split>.json`."""
    return os.path.join(workdir, eval_dir, eval_file_name(spec))


def log_dir(workdir):
    """TensorBoard's folder of the run."""
    return os.path.join(workdir, LOG_DIR)


def export_base(workdir):
    """The TF Serving base folder: versions `<step>/` go inside."""
    return os.path.join(workdir, EXPORT_DIR)


def figure_path(workdir):
    """The predictions figure's PNG."""
    return os.path.join(workdir, FIGURE_DIR, PREDICTIONS_FIGURE)


def operative_config_path(workdir):
    """The gin settings the run trained with."""
    return os.path.join(workdir, OPERATIVE_CONFIG)


def selection_path(workdir):
    """The record of which checkpoint was selected."""
    return os.path.join(workdir, SELECTION_FILE)


def best_record_path(workdir):
    """The scores behind the best checkpoint kept during training."""
    return os.path.join(workdir, BEST_RECORD)
