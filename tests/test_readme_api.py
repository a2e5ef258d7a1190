"""The README's Python API example runs, shrunk to a tiny size, as written otherwise."""

import os
import re
import subprocess
import sys

import pytest

from tests import cli

pytestmark = pytest.mark.slow

# README text -> its tiny stand-in; each must occur, so an edit of the README that the
# test would no longer cover fails here.
SHRINK = {
    "width_multiplier=0.125, fc_width=128": "width_multiplier=0.0625, fc_width=16",
    "eval_size=(64, 128)": "eval_size=(32, 64)",
    "image_size=(64, 128), batch_size=8": "image_size=(32, 64), batch_size=2",
    "epochs=15, steps_per_epoch=100": "epochs=1, steps_per_epoch=2",
    "checkpoint_step=1500": "checkpoint_step=2",
    ", 1500, (64, 128))": ", 2, (32, 64))",
}


def _python_api_block():
    with open(os.path.join(cli.ROOT, "README.md")) as f:
        readme = f.read()
    section = readme[readme.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_api_example_runs(tmp_path, demo_data_dir):
    code = _python_api_block()
    for text, tiny in SHRINK.items():
        assert text in code, f"README's Python API no longer holds {text!r}"
        code = code.replace(text, tiny)
    example = tmp_path / "example.py"
    example.write_text(code)
    # Run as a user runs a script, from their own folder ("runs/api" lands there). The
    # example reads TFDS's default data dir; TFDS_DATA_DIR points it at the session's
    # copy of the embedded pair, which would otherwise be rendered again into
    # ~/tensorflow_datasets (about 85 s of CPU on a machine that has none).
    done = subprocess.run([sys.executable, str(example)], cwd=tmp_path, check=False,
                          capture_output=True, text=True, timeout=900,
                          env=cli.environment_reading(demo_data_dir))
    cli.assert_ok(done)
    results = (tmp_path / "runs" / "api" / "eval" /
               "procedural_streets_realistic_validation.json")
    assert results.exists()
    assert (tmp_path / "runs" / "api" / "export" / "2" / "saved_model.pb").exists()
