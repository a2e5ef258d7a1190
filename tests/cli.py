"""Runs the real command lines in subprocesses, as a user does, for the end-to-end tests."""

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command, timeout=900):
    """Runs `command` (a list) from the repository root; returns the CompletedProcess."""
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def run_module(module, *args, timeout=900):
    """`python -m <module> <args>`."""
    return run([sys.executable, "-m", module, *map(str, args)], timeout)


def run_cli(*args, timeout=900):
    """`python -m gta_keras.main <args>`."""
    return run_module("gta_keras.main", *args, timeout=timeout)


def run_script(path, *args, timeout=900):
    """`python <path> <args>`, e.g. "scripts/evaluate.py"."""
    return run([sys.executable, path, *map(str, args)], timeout)


def environment_reading(data_dir):
    """This process's environment with TFDS's default data dir set to `data_dir`: for
    the runner scripts, which read the demo pair from the default data dir."""
    return dict(os.environ, TFDS_DATA_DIR=str(data_dir))


def assert_ok(result):
    """Fails with the ends of stdout and stderr when the command failed."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]


def import_script(path):
    """Imports `path` (e.g. "scripts/ablation.py", from the repository root) as a module.

    The runner scripts define their absl flags only when run as programs, so several can
    be imported into one test process.
    """
    name = os.path.splitext(os.path.basename(path))[0] + "_script"
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
