"""scripts/image_size.py and gta_keras/timing.py: sizes, seconds per image, the table,
resuming, and one real invocation on gin/smoke.gin at two tiny sizes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import evaluation
from gta_keras import runs
from gta_keras import selection
from gta_keras import timing
from gta_keras import user_errors
from tests import cli

ROOT = cli.ROOT
SMOKE = os.path.join(ROOT, "gin", "smoke.gin")
REPORT = "procedural_streets/realistic:validation"


@pytest.fixture(scope="module")
def image_size():
    return cli.import_script("scripts/image_size.py")


def _write_epoch_events(log_dir, name, wall_times):
    """An event file as Keras' TensorBoard callback writes it: per epoch (its key), one
    "epoch_*" scalar at the given wall time (plus a later second scalar of the same
    epoch, which must not count)."""
    os.makedirs(log_dir, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(log_dir, f"events.out.tfevents.{name}")) as f:
        for epoch, wall_time in wall_times.items():
            for offset, tag in ((0.0, "epoch_f_loss"), (0.5, "epoch_d_loss")):
                summary = tf.compat.v1.Summary(
                    value=[tf.compat.v1.Summary.Value(tag=tag, simple_value=1.0)])
                f.write(tf.compat.v1.Event(wall_time=wall_time + offset, step=epoch,
                                           summary=summary).SerializeToString())


def test_training_seconds_per_image_leave_out_first_epochs_and_pauses(tmp_path):
    log_dir = timing.train_log_dir(str(tmp_path))
    _write_epoch_events(log_dir, "100.host", {0: 100.0, 1: 110.0, 2: 130.0})
    # Resumed an hour later: the pause and the new process's first epoch do not count.
    _write_epoch_events(log_dir, "4000.host", {3: 4000.0, 4: 4012.0})
    result = timing.training_seconds_per_image(str(tmp_path), steps_per_epoch=5,
                                               batch_size=2)
    assert result["train_epochs_timed"] == 3
    assert result["train_seconds_per_image"] == pytest.approx((10 + 20 + 12) / (3 * 5 * 2))
    _write_epoch_events(timing.train_log_dir(str(tmp_path / "one")), "1.host", {0: 1.0})
    assert timing.training_seconds_per_image(str(tmp_path / "one"), 5, 2) == {
        "train_seconds_per_image": None, "train_epochs_timed": 0}


def test_eval_timer_counts_images_and_leaves_out_the_first_batch():
    scorer = evaluation.SegmentationScorer(
        lambda images, size: tf.zeros(tf.concat([tf.shape(images)[:1], size], 0), tf.int32),
        num_label_classes=3)
    scorer.compile()
    images = np.zeros((7, 32, 64, 3), np.float32)
    labels = np.zeros((7, 32, 64, 1), np.uint8)
    timer = timing.EvalTimer()
    scorer.evaluate(tf.data.Dataset.from_tensor_slices((images, labels)).batch(3),
                    verbose=0, callbacks=[timer])
    assert [images for _, images in timer.marks] == [3.0, 6.0, 7.0]
    summary = timer.summary()
    assert summary["eval_seconds_per_image"] == pytest.approx(summary["eval_seconds"] / 7)
    (t1, _), (t3, _) = timer.marks[0], timer.marks[-1]
    assert summary["eval_seconds_per_image_after_first_batch"] == pytest.approx(
        (t3 - t1) / 4)
    assert timing.EvalTimer().summary()["eval_seconds"] is None


def test_sizes_are_height_by_width_and_checked(image_size):
    assert image_size.parse_size("64x128") == (64, 128)
    assert image_size.parse_size(" 96X192 ") == (96, 192)
    assert image_size.size_name((128, 256)) == "128x256"
    with pytest.raises(ValueError, match="must read HEIGHTxWIDTH"):
        image_size.parse_size("64,128")
    with pytest.raises(ValueError, match="multiples of 32"):
        image_size.parse_size("100x200")
    with pytest.raises(ValueError, match="multiples of 32"):
        image_size.parse_size("0x64")
    bindings = image_size.size_bindings((96, 192))
    assert "make_train_dataset.image_size = (96, 192)" in bindings
    assert "segmenter.eval_size = (96, 192)" in bindings


# mIoU per (size, method, seed); an epoch takes 8 s, an eval image 0.5 s, per 32 rows.
FAKE = {("32x64", "source_only"): (0.10, 0.12), ("32x64", "lsd"): (0.15, 0.19),
        ("64x128", "source_only"): (0.20, 0.22), ("64x128", "lsd"): (0.30, 0.28)}


def _fake_runner(calls):
    """A `subprocess.run` stand-in: writes the eval JSON and epoch events a real run
    would (steps_per_epoch 1 and batch 2 in smoke.gin)."""

    def run_fn(command, check, env):
        assert check and env is None
        calls.append(command)
        workdir = next(a.split("=", 1)[1] for a in command if a.startswith("--workdir="))
        method = os.path.basename(
            [a for a in command if a.startswith("--gin_file=")][-1])[:-len(".gin")]
        seed = int(next(a for a in command if "train.seed" in a).split("=")[-1])
        size = next(a for a in command if "segmenter.eval_size" in a).split("= ")[1]
        height, width = (int(v) for v in size.strip("()").split(","))
        name = f"{height}x{width}"
        miou = FAKE[(name, method)][seed]
        spec_name, split = runs.parse_dataset_spec(REPORT)
        path = runs.eval_path(workdir, REPORT)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"dataset": spec_name, "split": split, "miou": miou,
                       "per_class_iou": {"road": miou, "train": None},
                       "checkpoint_step": 2, "checkpoint_selection": "last",
                       "method": method, "eval_size": [height, width],
                       "eval_seconds_per_image": 0.9,
                       "eval_seconds_per_image_after_first_batch": 0.5 * height / 32}, f)
        unit = height / 32
        # Epoch 0 holds the trace: only epoch 1 is timed.
        _write_epoch_events(timing.train_log_dir(workdir), "1.host",
                            {0: 100.0, 1: 100.0 + 8 * unit})

    return run_fn


def test_table_timings_gains_and_resuming(image_size, tmp_path):
    calls = []
    summary = image_size.run([SMOKE], str(tmp_path), sizes=["32x64", "64x128"], seeds=2,
                             gin_bindings=["make_train_dataset.image_size = (96, 96)"],
                             run_fn=_fake_runner(calls))
    assert len(calls) == 8
    first = calls[0]
    assert f"--workdir={tmp_path / '32x64' / 'source_only_seed0'}" in first
    # The size comes after the shared bindings, so it wins over them.
    bindings = [a for a in first if a.startswith("--gin_bindings=")]
    assert bindings.index("--gin_bindings=make_train_dataset.image_size = (32, 64)") > (
        bindings.index("--gin_bindings=make_train_dataset.image_size = (96, 96)"))
    assert first[-1] == "--gin_bindings=training_health.every_steps = 0"
    small = summary["by_size"]["32x64"]
    assert small["methods"]["lsd"]["miou"]["mean"] == pytest.approx(0.17)
    assert small["gains"]["lsd"]["stats"]["mean"] == pytest.approx(0.06)
    # One timed epoch (the first is left out) of 1 step x batch 2.
    assert small["methods"]["lsd"]["train_seconds_per_image"] == pytest.approx(8 / 2)
    assert summary["by_size"]["64x128"]["methods"]["source_only"][
        "train_seconds_per_image"] == pytest.approx(16 / 2)
    assert small["methods"]["lsd"]["eval_seconds_per_image"] == pytest.approx(0.5)
    assert summary["sizes"] == ["32x64", "64x128"]
    assert summary["machine"]["cpu_model"]
    assert summary["oracle"] is False
    table = (tmp_path / "image_size.md").read_text()
    assert "| | 32x64 | 64x128 |" in table
    assert "| mIoU (%), lsd | 17.0 ± 2.0 (**+6.0**) | 29.0 ± 1.0 (**+8.0**) |" in table
    assert "| Train time per image, source_only | 4.0000 s | 8.0000 s |" in table
    assert "| Eval time per image, lsd | 0.5000 s | 1.0000 s |" in table
    assert "| mIoU (%), lsd | 31.3 (**+9.8**) | 34.5 (**+11.3**) | 36.1 (**+9.3**) |" in table
    saved = json.loads((tmp_path / "image_size.json").read_text())
    assert saved["by_size"]["64x128"]["methods"]["lsd"]["miou"]["mean"] == pytest.approx(
        0.29)
    # Run again: everything is finished; a run stopped part way is run again.
    os.remove(runs.eval_path(str(tmp_path / "64x128" / "lsd_seed1"), REPORT))
    image_size.run([SMOKE], str(tmp_path), sizes=["32x64", "64x128"], seeds=2,
                   run_fn=_fake_runner(calls))
    assert len(calls) == 9 and "64x128" in calls[-1][3] and "lsd_seed1" in calls[-1][3]


def test_a_folder_of_another_size_or_bad_input_is_refused(image_size, tmp_path):
    image_size.run([SMOKE], str(tmp_path), sizes=["32x64"], methods=["source_only"],
                   run_fn=_fake_runner([]))
    folder = str(tmp_path / "32x64" / "source_only_seed0")
    with pytest.raises(ValueError, match=r"evaluated at \[32, 64\], not \[64, 128\]"):
        image_size.is_finished(folder, REPORT, "source_only", (64, 128))
    with pytest.raises(ValueError, match="Unknown methods"):
        image_size.run([SMOKE], str(tmp_path), methods=["cyclegan"], run_fn=None)
    with pytest.raises(ValueError, match="multiples of 32"):
        image_size.run([SMOKE], str(tmp_path), sizes=["50x100"], run_fn=None)
    with pytest.raises(ValueError, match="at least one seed"):
        image_size.run([SMOKE], str(tmp_path), seeds=0, run_fn=None)


def test_a_checkpoint_choice_on_target_labels_stops_every_runner_in_one_line(
        image_size, tmp_path, monkeypatch):
    bindings = ["checkpoint_selection.rule = 'best'",
                "checkpoint_selection.dataset = 'procedural_streets/realistic:tuning'"]
    with pytest.raises(selection.OracleSelectionError):
        image_size.run([SMOKE], str(tmp_path), gin_bindings=bindings, run_fn=None)
    assert not os.listdir(tmp_path)  # before any run
    monkeypatch.setattr(sys, "argv", [os.path.join("scripts", "image_size.py")])
    with pytest.raises(SystemExit) as stop:
        with user_errors.exit_in_one_line():  # as main() runs run()
            image_size.run([SMOKE], str(tmp_path), gin_bindings=bindings, run_fn=None)
    message = str(stop.value.code)
    assert message.startswith("image_size: checkpoint_selection.rule = 'best' would choose")
    assert "In call to configurable" not in message and "\n" not in message


@pytest.mark.slow
def test_real_command_line_on_smoke_at_two_tiny_sizes(tmp_path, demo_data_dir):
    """One real invocation: source_only at 32x64 and 64x64, 2 steps each."""
    workdir = str(tmp_path / "image_size")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "image_size.py"),
         f"--gin_file={SMOKE}", f"--workdir={workdir}", "--seeds=1",
         "--methods=source_only", "--sizes=32x64,64x64",
         # Only what the table reads: the reported split, no figure.
         f"--gin_bindings=evaluate.datasets = ['{REPORT}']",
         "--gin_bindings=save_figure.datasets = []"],
        env=cli.environment_reading(demo_data_dir),
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(open(os.path.join(workdir, "image_size.json")).read())
    assert summary["sizes"] == ["32x64", "64x64"]
    for size, shape in (("32x64", [32, 64]), ("64x64", [64, 64])):
        run_dir = os.path.join(workdir, size, "source_only_seed0")
        with open(runs.eval_path(run_dir, REPORT)) as f:
            scored = json.load(f)
        assert scored["eval_size"] == shape and scored["checkpoint_step"] == 2
        assert scored["eval_seconds_per_image"] > 0
        with open(runs.operative_config_path(run_dir)) as f:
            config = f.read()
        assert f"make_train_dataset.image_size = {tuple(shape)}" in config
        assert "training_health.every_steps = 0" in config  # not timed as training
        assert not os.path.exists(os.path.join(run_dir, runs.LOG_DIR, "health"))
        info = summary["by_size"][size]["methods"]["source_only"]
        assert info["train_seconds_per_image"] > 0  # smoke: 2 epochs, the second timed
        assert info["eval_seconds_per_image"] > 0
    assert "| Train time per image, source_only |" in open(
        os.path.join(workdir, "image_size.md")).read()
