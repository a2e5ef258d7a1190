"""One end-to-end run of the real command line on gin/smoke.gin."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

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
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(
        tf.train.load_checkpoint(checkpoint).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    parts = {child.local_name for child in graph.nodes[0].children}
    assert parts >= {"embedder", "classifier", "generator", "discriminator", "f_optimizer",
                     "f_bias_optimizer", "g_optimizer", "d_optimizer"}
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

    # Evaluating again from the checkpoint gives the same numbers; so does the export,
    # scored through scripts/evaluate.py as TF Serving would run it.
    again = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={workdir}",
                     f"--data_dir={data_dir}", "--mode=evaluate")
    assert again.returncode == 0, again.stderr[-3000:]
    reevaluated = json.loads(
        (workdir / "eval" / "procedural_streets_realistic_validation.json").read_text())
    assert reevaluated["miou"] == metrics["miou"]

    # Evaluating with another configuration than the run's is a one-line error that
    # changes nothing on disk.
    mismatched = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={workdir}",
                          f"--data_dir={data_dir}", "--mode=evaluate",
                          "--gin_bindings=build_model.fc_width = 24")
    assert mismatched.returncode != 0
    assert "operative_config.gin" in mismatched.stderr, mismatched.stderr[-3000:]
    assert "Traceback" not in mismatched.stderr
    assert json.loads((workdir / "eval" / "procedural_streets_realistic_validation.json")
                      .read_text()) == reevaluated

    def evaluate_script(*args):
        return subprocess.run(
            [sys.executable, "scripts/evaluate.py", "--gin_file=gin/smoke.gin",
             f"--workdir={workdir}", f"--data_dir={data_dir}",
             "--dataset=procedural_streets/realistic:validation", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=600)

    from_checkpoint = evaluate_script()
    assert from_checkpoint.returncode == 0, from_checkpoint.stderr[-3000:]
    assert json.loads((workdir / "eval" / "procedural_streets_realistic_validation.json")
                      .read_text())["miou"] == metrics["miou"]
    served = evaluate_script(f"--saved_model={export_dir}")
    assert served.returncode == 0, served.stderr[-3000:]
    served_metrics = json.loads((workdir / "eval_saved_model" /
                                 "procedural_streets_realistic_validation.json").read_text())
    assert served_metrics["num_images"] == metrics["num_images"]
    assert abs(served_metrics["miou"] - metrics["miou"]) < 0.01

    # The "best" rule scores every kept checkpoint on a held-out split, evaluates the
    # winner and says so in the eval JSON.
    best = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={workdir}",
                    f"--data_dir={data_dir}", "--mode=evaluate",
                    "--gin_bindings=checkpoint_selection.rule = 'best'",
                    "--gin_bindings=checkpoint_selection.dataset = "
                    "'procedural_streets/realistic:tuning'")
    assert best.returncode == 0, best.stderr[-3000:]
    selection = json.loads((workdir / "checkpoint_selection.json").read_text())
    assert selection["rule"] == "best"
    assert sorted(selection["scores"]) == ["1", "2"]
    assert selection["scores"][str(selection["selected_step"])] == max(
        selection["scores"].values())
    chosen = json.loads(
        (workdir / "eval" / "procedural_streets_realistic_validation.json").read_text())
    assert chosen["checkpoint_step"] == selection["selected_step"]
    assert chosen["checkpoint_selection"] == (
        "best mIoU on procedural_streets/realistic:tuning")
    assert "Selected the checkpoint of step" in best.stdout


def test_cli_reports_a_missing_dataset_clearly(tmp_path):
    result = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={tmp_path / 'run'}",
                      f"--data_dir={tmp_path / 'tfds'}",
                      "--gin_bindings=make_train_dataset.source = 'gta5'",
                      f"--manual_dir={tmp_path / 'empty'}")
    assert result.returncode != 0
    assert "gta5" in result.stderr and "manual" in result.stderr.lower()


def test_cli_reports_a_missing_checkpoint_clearly(tmp_path):
    result = _run_cli("--gin_file=gin/smoke.gin", f"--workdir={tmp_path / 'untrained'}",
                      f"--data_dir={tmp_path / 'tfds'}", "--mode=evaluate")
    assert result.returncode != 0
    assert "No checkpoint" in result.stderr and "Train first" in result.stderr
    assert "Traceback" not in result.stderr
