"""The bad inputs of docs/robustness.md that fail before any training, through `main`.

In-process: absl flags are parsed as the command line would be, and `main.main` must exit
with one line that says what is wrong (no traceback), leaving no checkpoint.
"""

import os
import re

from absl import flags
import pytest

from gta_keras import main as main_lib


def _main(tmp_path, *args):
    """Runs the CLI's main on smoke.gin with `args`; returns its exit message."""
    workdir = tmp_path / "run"
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["gta_keras", f"--workdir={workdir}", f"--data_dir={tmp_path / 'tfds'}",
                 "--mode=train", *args])
    try:
        with pytest.raises(SystemExit) as exited:
            main_lib.main(["gta_keras"])
    finally:
        # The flags are the process's: leave none set for the next test (predict's
        # share --workdir and --gin_file).
        flags.FLAGS.unparse_flags()
    message = str(exited.value.code)
    assert message.startswith("gta_keras: ") and "Traceback" not in message
    assert not os.path.exists(workdir / "checkpoints")
    return message


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
