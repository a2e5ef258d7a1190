"""One end-to-end run of the real command line on gin/smoke.gin."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "gta_keras.main", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)


def test_smoke_run_trains_evaluates_and_exports(tmp_path):
    workdir = tmp_path / "run"
    data_dir = tmp_path / "tfds"
    result = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={workdir}",
                      f"--data_dir={data_dir}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    checkpoint = tf.train.latest_checkpoint(str(workdir / "checkpoints"))
    assert checkpoint is not None and checkpoint.endswith("-2")
    saved = {name for name, _ in tf.train.list_variables(checkpoint)}
    for part in ("embedder", "classifier", "generator", "discriminator", "f_optimizer",
                 "f_bias_optimizer", "g_optimizer", "d_optimizer"):
        assert any(name.startswith(part + "/") for name in saved), part
    assert (workdir / "operative_config.gin").exists()
    assert os.listdir(workdir / "logs")

    metrics = json.loads(
        (workdir / "eval" / "procedural_streets_realistic_validation.json").read_text())
    for key in ("dataset", "split", "num_images", "class_names", "per_class_iou", "miou",
                "pixel_accuracy", "eval_size", "checkpoint_step", "checkpoint_selection"):
        assert key in metrics, key
    assert metrics["checkpoint_step"] == 2
    assert metrics["num_images"] > 0
    assert 0.0 <= metrics["miou"] <= 1.0
    assert "mIoU" in result.stdout

    export_dir = workdir / "export" / "2"
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    image = np.zeros((1, 40, 72, 3), np.uint8)
    assert serve(images=tf.constant(image))["classes"].shape == (1, 40, 72)
    assert (workdir / "figures" / "predictions.png").exists()

    # A second run finds the finished checkpoint and resumes without training again.
    again = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={workdir}",
                     f"--data_dir={data_dir}", "--mode=evaluate")
    assert again.returncode == 0, again.stderr[-3000:]


def test_cli_reports_a_missing_dataset_clearly(tmp_path):
    result = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={tmp_path / 'run'}",
                      f"--data_dir={tmp_path / 'tfds'}",
                      "--gin_bindings=make_train_dataset.source = 'gta5'",
                      f"--manual_dir={tmp_path / 'empty'}")
    assert result.returncode != 0
    assert "gta5" in result.stderr and "manual" in result.stderr.lower()
