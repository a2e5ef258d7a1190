"""The real command line end to end on gin/smoke.gin: one run, then one test per check."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from gta_keras import runs
from tests import cli

pytestmark = pytest.mark.slow

REPORTED = "procedural_streets/realistic:validation"
SOURCE_VALIDATION = "procedural_streets/synthetic:validation"
TUNING = "procedural_streets/realistic:tuning"


class SmokeRun:
    """A trained, evaluated and exported smoke run, shared by this module's tests."""

    def __init__(self, root, data_dir):
        self.workdir = root / "run"
        self.data_dir = data_dir
        self.result = self.cli()

    def cli(self, *args):
        return cli.run_cli("--gin_file=gin/smoke.gin", f"--workdir={self.workdir}",
                           f"--data_dir={self.data_dir}", *args)

    def evaluate_script(self, *args):
        return cli.run_script("scripts/evaluate.py", "--gin_file=gin/smoke.gin",
                              f"--workdir={self.workdir}", f"--data_dir={self.data_dir}",
                              f"--dataset={REPORTED}", *args,
                              timeout=600)

    def eval_json(self, eval_dir=runs.EVAL_DIR):
        with open(runs.eval_path(self.workdir, REPORTED, eval_dir)) as f:
            return json.load(f)


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_data_dir):
    smoke = SmokeRun(tmp_path_factory.mktemp("smoke"), demo_data_dir)
    cli.assert_ok(smoke.result)
    smoke.first_eval = smoke.eval_json()
    return smoke


def test_training_checkpoints_every_player_and_optimizer(run):
    checkpoint = tf.train.latest_checkpoint(str(run.workdir / "checkpoints"))
    assert checkpoint is not None and checkpoint.endswith("-2")
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(
        tf.train.load_checkpoint(checkpoint).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    parts = {child.local_name for child in graph.nodes[0].children}
    assert parts >= {"embedder", "classifier", "generator", "discriminator", "f_optimizer",
                     "f_bias_optimizer", "g_optimizer", "d_optimizer"}


def test_training_writes_its_config_and_logs(run):
    with open(runs.operative_config_path(run.workdir)) as f:
        config = f.read()
    assert "embedder.fc_width = 16" in config
    assert "train.steps = 2" in config
    assert os.listdir(runs.log_dir(run.workdir))


def test_evaluation_writes_the_eval_json(run):
    metrics = run.first_eval
    for key in ("dataset", "split", "num_images", "class_names", "per_class_iou", "miou",
                "pixel_accuracy", "eval_size", "upsampling", "checkpoint_step",
                "checkpoint_selection", "method", "weights", "machine"):
        assert key in metrics, key
    assert metrics["checkpoint_step"] == 2
    assert metrics["weights"] == "raw" and metrics["segmenter_ema_decay"] is None  # Off.
    assert metrics["checkpoint_selection"] == "last"
    assert metrics["oracle"] is False and metrics["selection_split"] is None
    assert metrics["eval_size"] == [32, 64]
    assert metrics["num_images"] == 300
    scored = [v for v in metrics["per_class_iou"].values() if v is not None]
    assert metrics["miou"] == pytest.approx(np.mean(scored))
    assert "mIoU" in run.result.stdout


def test_the_export_serves_any_image_size(run):
    serve = tf.saved_model.load(str(run.workdir / "export" / "2")).signatures[
        "serving_default"]
    image = np.zeros((1, 40, 72, 3), np.uint8)
    assert serve(images=tf.constant(image))["classes"].shape == (1, 40, 72)


def test_the_figure_is_written(run):
    assert os.path.exists(runs.figure_path(run.workdir))


def test_evaluating_again_gives_the_same_numbers(run):
    again = run.cli("--mode=evaluate")
    cli.assert_ok(again)
    assert run.eval_json()["miou"] == run.first_eval["miou"]


def _assert_a_one_line_mismatch(result, program):
    """`result` stopped on a checkpoint that does not fit its gin configuration, with one
    line starting "<program>: " as the last thing it printed: not above a page of
    TensorFlow's warnings about the half-restored checkpoint."""
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{program}: ") and "does not fit" in last, result.stderr[-3000:]
    assert last.endswith("they are in its operative_config.gin.")
    assert "Traceback" not in result.stderr


def test_another_configuration_than_the_runs_is_a_one_line_error(run):
    before = run.eval_json()
    _assert_a_one_line_mismatch(
        run.cli("--mode=evaluate", "--gin_bindings=embedder.fc_width = 24"), "gta_keras")
    assert run.eval_json() == before  # nothing on disk changed


def test_the_evaluate_script_names_another_configuration_in_one_line(run):
    before = run.eval_json()
    _assert_a_one_line_mismatch(
        run.evaluate_script("--gin_bindings=embedder.fc_width = 24"), "evaluate")
    assert run.eval_json() == before


def test_the_evaluate_script_scores_the_checkpoint_and_the_export_alike(run):
    cli.assert_ok(run.evaluate_script())
    assert run.eval_json()["miou"] == run.first_eval["miou"]
    cli.assert_ok(run.evaluate_script(f"--saved_model={run.workdir / 'export' / '2'}"))
    served = run.eval_json(runs.EVAL_SAVED_MODEL_DIR)
    assert served["num_images"] == run.first_eval["num_images"]
    assert served["saved_model"].endswith(os.path.join("export", "2"))
    assert abs(served["miou"] - run.first_eval["miou"]) < 0.01


def test_the_best_rule_scores_every_kept_checkpoint_on_the_source_validation_split(run):
    best = run.cli("--mode=evaluate", "--gin_bindings=checkpoint_selection.rule = 'best'")
    cli.assert_ok(best)
    with open(runs.selection_path(run.workdir)) as f:
        selection = json.load(f)
    assert selection["rule"] == "best"
    assert selection["dataset"] == SOURCE_VALIDATION  # label-free by default
    assert selection["oracle"] is False
    assert sorted(selection["scores"]) == ["1", "2"]
    assert selection["scores"][str(selection["selected_step"])] == max(
        selection["scores"].values())
    chosen = run.eval_json()
    assert chosen["checkpoint_step"] == selection["selected_step"]
    assert chosen["checkpoint_selection"] == f"best mIoU on {SOURCE_VALIDATION}"
    assert chosen["selection_split"] == SOURCE_VALIDATION
    assert chosen["oracle"] is False
    assert "Selected the checkpoint of step" in best.stdout


def test_choosing_on_target_labels_needs_the_oracle_flag_and_is_stamped(run):
    before = run.eval_json()
    on_target = ["--mode=evaluate", "--gin_bindings=checkpoint_selection.rule = 'best'",
                 f"--gin_bindings=checkpoint_selection.dataset = '{TUNING}'"]
    refused = run.cli(*on_target)
    assert refused.returncode != 0
    assert "a labelled split of the target" in refused.stderr, refused.stderr[-3000:]
    assert "checkpoint_selection.oracle = True" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert run.eval_json() == before  # refused before anything was scored
    allowed = run.cli(*on_target, "--gin_bindings=checkpoint_selection.oracle = True")
    cli.assert_ok(allowed)
    assert "ORACLE" in allowed.stdout
    chosen = run.eval_json()
    assert chosen["oracle"] is True and chosen["selection_split"] == TUNING
    assert chosen["checkpoint_selection"] == f"best mIoU on {TUNING}"
    with open(runs.selection_path(run.workdir)) as f:
        assert json.load(f)["oracle"] is True


def test_a_run_with_a_moving_average_scores_and_exports_it(run, tmp_path):
    """compile_model.segmenter_ema_decay through gin on the smoke config (the smoke
    run's data): the eval JSON scores the average, evaluate.weights = 'raw' the training
    weights of the same run, and a configuration without the average is refused."""
    workdir = tmp_path / "ema"

    def smoke(*args):
        # Scored on the reported split only, and no figure: the rest is the main run's.
        return cli.run_cli("--gin_file=gin/smoke.gin", f"--workdir={workdir}",
                           f"--data_dir={run.data_dir}",
                           f"--gin_bindings=evaluate.datasets = ['{REPORTED}']",
                           "--gin_bindings=save_figure.datasets = []", *args)

    def eval_json():
        with open(runs.eval_path(workdir, REPORTED)) as f:
            return json.load(f)

    on = "--gin_bindings=compile_model.segmenter_ema_decay = 0.9"
    result = smoke(on)
    cli.assert_ok(result)
    assert "checkpoint step 2 (moving average)" in result.stdout
    assert "Exported the segmenter (the moving average of its weights)" in result.stdout
    assert eval_json()["weights"] == "ema" and eval_json()["segmenter_ema_decay"] == 0.9
    raw = smoke("--mode=evaluate", on, "--gin_bindings=evaluate.weights = 'raw'")
    cli.assert_ok(raw)
    assert eval_json()["weights"] == "raw"
    refused = smoke("--mode=evaluate")  # The average is not configured.
    assert refused.returncode != 0
    assert "holds the moving average of F and C" in refused.stderr, refused.stderr[-3000:]
    assert "Traceback" not in refused.stderr


def test_a_missing_dataset_is_reported_clearly(tmp_path):
    result = cli.run_cli("--gin_file=gin/smoke.gin", f"--workdir={tmp_path / 'run'}",
                         f"--data_dir={tmp_path / 'tfds'}",
                         "--gin_bindings=make_train_dataset.source = 'gta5'",
                         f"--manual_dir={tmp_path / 'empty'}")
    assert result.returncode != 0
    assert "gta5" in result.stderr and "manual" in result.stderr.lower()


def test_a_missing_checkpoint_is_reported_clearly(tmp_path):
    result = cli.run_cli("--gin_file=gin/smoke.gin", f"--workdir={tmp_path / 'untrained'}",
                         f"--data_dir={tmp_path / 'tfds'}", "--mode=evaluate")
    assert result.returncode != 0
    assert "No checkpoint" in result.stderr and "Train first" in result.stderr
    assert "Traceback" not in result.stderr
