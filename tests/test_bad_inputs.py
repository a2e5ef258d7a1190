"""The bad inputs of docs/robustness.md, most of them through `main`.

In-process: absl flags are parsed as the command line would be, and `main.main` must exit
with a message that says what is wrong (no traceback), leaving no checkpoint (or, for a
trained run, its checkpoints unchanged). A full disk while checkpointing is simulated in
`experiment.train` (the demo data the CLI would train on takes a minute to generate).
"""

import errno
import fcntl
import glob
import os
import pathlib
import re
import shutil
import subprocess
import sys

from absl import flags
import gin
import pytest
import tensorflow as tf

from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import main as main_lib
from gta_keras import user_errors
from gta_keras import workdir_lock
from gta_keras.data import pipeline
from gta_keras.datasets.gta5 import gta5_dataset_builder
from tests import cli
from tests import tiny

GTA5_DUMMY = pathlib.Path(gta5_dataset_builder.__file__).parent / "dummy_data"
GTA5_VALIDATION = ("00034.png", "00057.png")  # the dummy frames validation_frames.txt names


def _main(tmp_path, *args, mode="train", trained=False):
    """Runs the CLI's main on `args` in `--mode=mode`; returns its exit message.

    With `trained`, the workdir's checkpoints may exist before and must be unchanged;
    otherwise none may be written.
    """
    workdir = tmp_path / "run"
    before = _listing(workdir / "checkpoints")
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["gta_keras", f"--workdir={workdir}", f"--data_dir={tmp_path / 'tfds'}",
                 f"--mode={mode}", *args])
    try:
        with pytest.raises(SystemExit) as exited:
            main_lib.main(["gta_keras"])
    finally:
        # The flags are the process's: leave none set for the next test (predict's
        # share --workdir and --gin_file).
        flags.FLAGS.unparse_flags()
    message = str(exited.value.code)
    assert message.startswith("gta_keras: ") and "Traceback" not in message
    if trained:
        assert before and _listing(workdir / "checkpoints") == before
    else:
        assert not os.path.exists(workdir / "checkpoints")
    return message


def _listing(folder):
    """{file name: (size, mtime)} of a folder; {} if it does not exist."""
    if not os.path.isdir(folder):
        return {}
    return {entry.name: (entry.stat().st_size, entry.stat().st_mtime_ns)
            for entry in os.scandir(folder)}


SMOKE = "--gin_file=gin/smoke.gin"


@pytest.mark.parametrize("args, expected", [
    ((SMOKE, "--gin_bindings=train.stepz = 3"),
     "bad gin configuration: .*stepz"),
    (("--gin_file=gin/nope.gin",), "bad gin configuration: No such gin file: .*nope.gin"),
    ((SMOKE, "--gin_bindings=train.steps = (("), "bad gin configuration"),
    ((SMOKE, "--gin_bindings=train.steps = 'ten'"),
     "train.steps must be a positive whole number, not 'ten'"),
    ((SMOKE, "--gin_bindings=train.steps = 3", "--gin_bindings=train.steps_per_epoch = 2"),
     r"train.steps \(3\) must be a multiple of train.steps_per_epoch \(2\)"),
    ((SMOKE, "--gin_bindings=make_train_dataset.image_size = (33, 64)"),
     r"Training size \(33, 64\) must have sides divisible by 32"),
    ((SMOKE, "--gin_bindings=distribution.strategy = 'gpus'"),
     "Unknown distribution.strategy 'gpus'"),
    ((SMOKE, "--gin_bindings=make_train_dataset.source = 'no_such_dataset'"),
     "TFDS does not know the dataset 'no_such_dataset'"),
], ids=["unknown_binding", "missing_gin_file", "malformed_value", "wrong_type",
        "steps_not_multiple", "size_not_divisible_by_32", "unknown_strategy",
        "unknown_dataset"])
def test_bad_input_is_one_line_and_writes_no_checkpoint(tmp_path, args, expected):
    message = _main(tmp_path, *args)
    assert re.search(expected, message), message


@pytest.mark.parametrize("binding, expected", [
    ("build_model.method = 'cyclegan'", r"Unknown method 'cyclegan'; use one of"),
    ("build_model.update_reading = 'twice'", r"Unknown update_reading 'twice'"),
    ("build_model.reduction = 'median'", r"Unknown reduction 'median'; use one of"),
    ("build_model.d_label_smoothing = 1.5",
     r"build_model.d_label_smoothing = 1.5: must be in \[0, 1\)"),
    ("build_model.d_input_noise = -0.1", r"build_model.d_input_noise = -0.1: must be >= 0"),
    ("build_model.d_r1_weight = -1.0", r"build_model.d_r1_weight = -1.0: must be >= 0"),
    ("build_model.loss_weights = (0.1, 0.1)",
     r"build_model.loss_weights = \(0.1, 0.1\) must have 4 values"),
    ("build_model.width_multiplier = 0.5",
     r"build_model.width_multiplier is now embedder.width_multiplier"),
    ("generator.norm = 'batch'", r"Unknown norm 'batch'; use one of"),
    ("discriminator.init = 'xavier'", r"Unknown init 'xavier'; use one of"),
    ("embedder.dropout = 'channel'", r"Unknown embedder dropout 'channel'"),
    ("segmenter.upsampling = 'cubic'", r"Unknown segmenter.upsampling 'cubic'"),
])
def test_a_bad_model_setting_is_one_line(binding, expected):
    """Each setting checked where F, C, G and D are built is a user error: the command
    lines (`user_errors.exit_in_one_line`, around training, evaluation and export) print
    it in one line. In-process on the model alone: through `main`, training prepares the
    dataset first."""
    configurables.parse_gin(["gin/smoke.gin"], [binding])
    with pytest.raises(SystemExit) as exited:
        with user_errors.exit_in_one_line("gta_keras"):
            experiment.build_training_model()
    message = str(exited.value.code)
    assert message.startswith("gta_keras: ") and "\n" not in message, message
    assert re.search(expected, message), message


def test_the_scripts_report_a_bad_binding_as_the_command_line_does(tmp_path):
    """scripts/evaluate.py and the runners parse gin files as `main` does."""
    result = cli.run_script("scripts/evaluate.py", SMOKE, f"--workdir={tmp_path / 'run'}",
                            "--gin_bindings=train.stepz = 3")
    assert result.returncode == 1
    assert result.stderr.startswith("evaluate: bad gin configuration: Configurable 'train' "
                                    "doesn't have a parameter named 'stepz'."), result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "run")


def test_the_benchmark_refuses_a_bad_size_before_it_starts():
    """Was a ValueError traceback from deep in the paper mode."""
    result = cli.run_script("scripts/benchmark.py", "--mode=paper", "--size=160by320")
    assert result.returncode == 1
    assert ("flag --size=160by320: must read HEIGHTxWIDTH, e.g. 160x320"
            in result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def _one_line(message):
    assert "\n" not in message, message
    return message


def _saved_smoke_checkpoint(workdir):
    """A checkpoint (step 0) of smoke.gin's model in `workdir`, as training would leave."""
    configurables.parse_gin(["gin/smoke.gin"])
    model = experiment.build_compiled_model(skip_imagenet_weights=True)
    checkpoints.Checkpointer(model, checkpoints.checkpoint_directory(str(workdir))).save()
    gin.clear_config()  # main parses the configuration again, as a new process would.


def test_evaluating_a_split_the_dataset_lacks_names_it_and_writes_nothing(tmp_path):
    workdir = tmp_path / "run"
    _saved_smoke_checkpoint(workdir)
    # Only training takes the workdir's lock: evaluation runs beside a training run.
    holder = os.open(workdir_lock.lock_path(str(workdir)), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        message = _one_line(_main(
            tmp_path, SMOKE, f"--manual_dir={GTA5_DUMMY}",
            "--gin_bindings=evaluate.datasets = ['gta5:valdation']",
            mode="evaluate", trained=True))
    finally:
        os.close(holder)
    assert message.startswith("gta_keras: The split 'valdation' of 'gta5' is empty or does "
                              "not exist (Unknown split 'valdation'"), message
    assert "'gta5' has train (3 examples), validation (2 examples)" in message
    assert sorted(os.listdir(workdir)) == [".lock", "checkpoints"]  # no eval, no selection


def test_an_empty_slice_of_a_split_is_named(tmp_path):
    """E.g. make_train_dataset.target_split = 'train[5:]' of a 3-frame split."""
    with pytest.raises(pipeline.EmptySplitError) as raised:
        pipeline.check_split("gta5", "train[5:]", data_dir=str(tmp_path / "tfds"),
                             manual_dir=str(GTA5_DUMMY))
    message = _one_line(str(raised.value))
    assert message.startswith("The split 'train[5:]' of 'gta5' is empty or does not exist ("
                              ), message
    assert "'gta5' has train (3 examples), validation (2 examples)" in message


def test_scoring_a_dataset_that_yields_nothing_is_a_clear_error(monkeypatch):
    """A dataset of unknown length (no TFDS split) that turns out empty."""
    empty = tf.data.Dataset.from_tensors(
        (tf.zeros((1, 32, 64, 3)), tf.zeros((1, 32, 64, 1), tf.uint8))).filter(
            lambda *unused: False)
    assert int(empty.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    monkeypatch.setattr(pipeline, "make_eval_dataset", lambda *args, **kwargs: empty)

    def predict(images, size):
        return tf.zeros(tf.concat([tf.shape(images)[:1], size], 0), tf.int32)

    with pytest.raises(pipeline.EmptySplitError,
                       match="The split 'validation' of 'gta5' holds no images"):
        experiment.score_split(predict, 19, "gta5", "validation")


def _gta5_copy(tmp_path):
    manual_dir = tmp_path / "manual"
    shutil.copytree(GTA5_DUMMY, manual_dir)
    return manual_dir


def test_a_download_without_the_validation_frames_names_the_split_folder_and_frames(
        tmp_path):
    manual_dir = _gta5_copy(tmp_path)
    for name in GTA5_VALIDATION:
        for folder in ("images", "labels"):
            (manual_dir / folder / name).unlink()
    message = _one_line(_main(tmp_path, SMOKE, f"--manual_dir={manual_dir}",
                              "--gin_bindings=make_train_dataset.source = 'gta5'"))
    assert message.startswith(f"gta_keras: Cannot prepare 'gta5' from {manual_dir}: GTA5's "
                              "validation split would be empty: none of the 1000 frames "
                              "that datasets/gta5/validation_frames.txt names"), message
    assert "00034.png" in message and f"{manual_dir / 'images'}" in message
    assert "extract every archive" in message
    assert "No examples were yielded" not in message
    assert not os.path.exists(tmp_path / "tfds" / "gta5" / "1.0.0")  # nothing built


def test_a_split_whose_every_frame_is_skipped_is_named(tmp_path):
    """TFDS's own 'No examples were yielded', here from image/label size mismatches."""
    manual_dir = _gta5_copy(tmp_path)
    short_label = (manual_dir / "labels" / "00003.png").read_bytes()  # 2 rows short
    for name in GTA5_VALIDATION:
        (manual_dir / "labels" / name).write_bytes(short_label)
    with pytest.raises(pipeline.DatasetUnavailableError) as raised:
        pipeline.prepare_split("gta5", data_dir=str(tmp_path / "tfds"),
                               manual_dir=str(manual_dir))
    message = _one_line(str(raised.value))
    assert message.startswith(f"Cannot prepare 'gta5' from {manual_dir}: its split "
                              "'validation' came out empty"), message
    assert "python scripts/doctor.py --dataset=gta5" in message
    assert not os.path.exists(tmp_path / "tfds" / "gta5" / "1.0.0")


def test_a_read_only_workdir_stops_before_training(tmp_path, monkeypatch):
    workdir = tmp_path / "run"
    workdir.mkdir()
    workdir.chmod(0o555)
    if os.geteuid() == 0:
        # Root writes into a mode-0555 folder regardless (and so the check lets it):
        # simulate what every other user's os.access says.
        real_access = os.access
        monkeypatch.setattr(workdir_lock.os, "access", lambda path, mode: (
            False if os.path.abspath(path) == str(workdir) else real_access(path, mode)))
    try:
        message = _one_line(_main(tmp_path, SMOKE))
    finally:
        workdir.chmod(0o755)
    assert message == (f"gta_keras: Cannot write to the workdir {workdir} (Permission "
                       f"denied); nothing was run. Make it writable (chmod u+w {workdir}) "
                       "and rerun, or give another --workdir.")
    assert os.listdir(workdir) == []
    assert not os.path.exists(tmp_path / "tfds")  # no data prepared either


def test_a_second_run_on_a_busy_workdir_refuses_and_names_the_first(tmp_path):
    """The first run: another process holding the lock. Killed, it holds nothing."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    first = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gta_keras import workdir_lock; "
         "workdir_lock.acquire(sys.argv[1]); print('locked', flush=True); sys.stdin.read()",
         str(workdir)], cwd=cli.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert first.stdout.readline().strip() == "locked"
        message = _one_line(_main(tmp_path, SMOKE))
        assert message.startswith(f"gta_keras: {workdir} is in use: process {first.pid} is "
                                  "training in it"), message
        assert f"kill {first.pid}" in message and "another --workdir" in message
        assert os.listdir(workdir) == [".lock"]
        assert not os.path.exists(tmp_path / "tfds")
    finally:
        first.kill()  # SIGKILL: no clean-up of its own; the OS drops its lock.
        first.wait()
    assert (workdir / ".lock").read_text().strip() == str(first.pid)  # stale, left behind
    workdir_lock.acquire(str(workdir))
    try:
        assert (workdir / ".lock").read_text().strip() == str(os.getpid())
    finally:
        workdir_lock.release(str(workdir))


def _one_batch_dataset(before_reading, **unused_kwargs):
    before_reading()
    return tf.data.Dataset.from_tensors(tiny.batch()).repeat()


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
    tf.errors.ResourceExhaustedError(None, None, "ckpt-2_temp/part-00000-of-00001.data-"
                                     "00000-of-00001; No space left on device"),
], ids=["oserror", "tensorflow"])
def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(
        tmp_path, monkeypatch, error):
    """The second save writes part of its data file, then the disk is full."""
    workdir = str(tmp_path / "run")
    directory = checkpoints.checkpoint_directory(workdir)
    real_write = tf.train.Checkpoint._write  # pylint: disable=protected-access

    def write(self, prefix, *args, **kwargs):
        if not prefix.endswith("ckpt-2"):
            return real_write(self, prefix, *args, **kwargs)
        with open(prefix + ".data-00000-of-00001", "wb") as f:
            f.write(b"\0" * 100)
        raise error

    monkeypatch.setattr(tf.train.Checkpoint, "_write", write)
    try:
        with pytest.raises(workdir_lock.WorkdirError) as raised:
            experiment.train(workdir, steps=2, steps_per_epoch=1, verbose=0,
                             dataset_fn=_one_batch_dataset, model_fn=tiny.model)
    finally:
        workdir_lock.release(workdir)
    message = _one_line(user_errors.message(raised.value, main_lib.PROGRAM))  # as main prints it
    assert message.startswith(f"gta_keras: Cannot write the checkpoint of step 2 into "
                              f"{directory} ("), message
    assert "No space left on device" in message
    assert message.endswith(f"Free space and rerun: training resumes from {directory}/ckpt-1 "
                            "(step 1).")
    assert tf.train.latest_checkpoint(directory) == f"{directory}/ckpt-1"
    assert not glob.glob(f"{directory}/ckpt-2*")  # the partial file is gone
    fresh = tiny.model()
    assert checkpoints.Checkpointer(fresh, directory).restore_latest().endswith("ckpt-1")
    assert int(fresh.f_optimizer.iterations.numpy()) == 1
