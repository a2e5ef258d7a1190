"""A quiet start: TensorFlow's C++ start-up lines hidden, gin includes found first time.

Two short subprocesses (`python -c`, no CLI run) import TensorFlow with quiet installed, one
normal and one with `-v 1`; the rest runs in-process.
"""

import ast
import glob
import logging
import os
import subprocess
import sys
import textwrap

import gin
import pytest

from gta_keras import configurables
from gta_keras import experiment  # pylint: disable=unused-import  (registers configurables)
from gta_keras import quiet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIN_DIR = os.path.join(ROOT, "gin")

# What TF 2.21 printed at `import tensorflow` and the first device lookup on a CPU machine.
START_UP = textwrap.dedent("""\
    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796220311.828679   20378 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
    I0000 00:00:1796220311.833270   20378 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    I0000 00:00:1796220312.073531   20378 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
    To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX512_FP16 AVX_VNNI AMX_TILE AMX_INT8 AMX_BF16 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
    E0000 00:00:1796220321.154496   20378 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
    """)  # noqa: E501
NOISE_MARKERS = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda",
                 "cpu_feature_guard", "To enable the following instructions",
                 "failed call to cuInit")

# Installs quiet, then writes to stderr during TensorFlow's import (from an import hook, at
# the C level and as a Python warning) and after it, and runs an op.
PROGRAM = textwrap.dedent("""\
    import importlib.abc, os, sys, warnings
    from gta_keras import quiet
    quiet.install()
    assert "numpy" not in sys.modules  # TensorFlow imports it: the hook below fires inside.

    class WriteDuringImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "numpy":
                sys.meta_path.remove(self)
                os.write(2, b"marker: C-level write during the import\\n")
                warnings.warn("marker: Python warning during the import")
            return None

    sys.meta_path.insert(1, WriteDuringImport())
    import tensorflow as tf
    print(float(tf.reduce_sum(tf.ones([2, 2]))))
    os.write(2, b"marker: C-level write after the import\\n")
    warnings.warn("marker: Python warning after the import")
    """)
MARKERS = ("marker: C-level write during the import",
           "marker: Python warning during the import",
           "marker: C-level write after the import",
           "marker: Python warning after the import")


def _run(*argv):
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # conftest sets it; a user's shell does not.
    return subprocess.run([sys.executable, "-c", PROGRAM, *argv], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)


def test_start_up_lines_are_hidden_and_the_rest_still_shows():
    result = _run()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4.0"
    for marker in NOISE_MARKERS:
        assert marker not in result.stderr, result.stderr
    positions = [result.stderr.find(marker) for marker in MARKERS]
    assert -1 not in positions, result.stderr
    assert positions == sorted(positions), result.stderr  # Replayed before what followed.


def test_verbosity_brings_the_start_up_lines_back():
    result = _run("-v", "1")
    assert result.returncode == 0, result.stderr
    for marker in MARKERS:
        assert marker in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    if not any(quiet.is_noise(lines)):
        pytest.skip("TensorFlow printed none of the known start-up lines on this machine: "
                    + result.stderr[:2000])
    assert "oneDNN custom operations" in result.stderr or "cuInit" in result.stderr


def test_filter_noise_drops_known_lines_only():
    unknown = ("W0000 00:00:1796220436.812418   20378 cache_dataset_ops.cc:912] The calling "
               "iterator did not fully read the dataset being cached.\n"
               "/x/y.py:3: UserWarning: something that matters\n"
               "I0000 00:00:1796220311.828679   20378 port.cc:153] a new message\n")
    assert quiet.filter_noise(START_UP + unknown) == unknown
    assert quiet.filter_noise(START_UP) == ""


def test_cuinit_error_shows_when_a_cuda_driver_is_there():
    # Without "Could not find cuda drivers" the GPU was expected: the failure matters.
    cuinit = START_UP.splitlines()[-1] + "\n"
    assert quiet.filter_noise(cuinit) == cuinit


@pytest.mark.parametrize("argv, level", [
    ([], 0), (["--verbosity=1"], 1), (["--verbosity", "2"], 2), (["-v", "1"], 1),
    (["-v=3"], 3), (["--v=1"], 1), (["-verbosity=1"], 1), (["--verbosity=-1"], -1),
    (["--workdir=x", "-v", "1", "--gin_file=y"], 1), (["--", "-v", "1"], 0),
    (["-v"], 0), (["--verbosity=loud"], 0), (["--vmodule=x=1"], 0),
])
def test_verbosity_from_the_command_line(argv, level):
    assert quiet.verbosity(["prog"] + argv) == level


def test_library_info_filter(tmp_path):
    log_filter = quiet.LibraryInfoFilter([str(tmp_path / "library")])

    def record(level, pathname):
        return logging.LogRecord("absl", level, pathname, 1, "message", None, None)

    inside = str(tmp_path / "library" / "core" / "dataset_info.py")
    assert not log_filter.filter(record(logging.INFO, inside))
    assert log_filter.filter(record(logging.WARNING, inside))
    assert log_filter.filter(record(logging.INFO, str(tmp_path / "library2" / "x.py")))
    assert log_filter.filter(record(logging.INFO, os.path.join(ROOT, "gta_keras", "x.py")))


def _entry_points():
    paths = glob.glob(os.path.join(ROOT, "scripts", "*.py"))
    paths += [os.path.join(ROOT, "gta_keras", name) for name in ("main.py", "predict.py")]
    # update_build.py imports neither TensorFlow nor gta_keras, and prints nothing of theirs.
    return sorted(p for p in paths
                  if os.path.exists(p) and os.path.basename(p) != "update_build.py")


@pytest.mark.parametrize("path", _entry_points(), ids=os.path.basename)
def test_entry_points_install_quiet_first_and_only_as_programs(path):
    with open(path) as f:
        body = ast.parse(f.read()).body
    body = body[1:] if isinstance(body[0], ast.Expr) else body  # the docstring
    assert ast.unparse(body[0]) == "from gta_keras import quiet", path
    # Under `if __name__ == "__main__"`, so that importing the module (a test, a notebook)
    # leaves the importer's stderr alone.
    assert ast.unparse(body[1]) == "if __name__ == '__main__':\n    quiet.install()", path


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_parse_gin_finds_includes_beside_the_file_from_any_cwd(tmp_path, monkeypatch,
                                                               caplog):
    # A base.gin in the working directory must not win over the one beside smoke.gin.
    _write(str(tmp_path / "base.gin"), "this is not gin\n")
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    configurables.parse_gin([os.path.join(GIN_DIR, "smoke.gin")],  # -> demo -> base
                            ["train.steps = 3"])
    assert gin.query_parameter("train.steps") == 3
    assert gin.query_parameter("make_train_dataset.batch_size") == 2  # smoke.gin
    assert os.getcwd() == str(tmp_path)
    assert "Path not found" not in caplog.text
    assert "system_path_file_exists" not in caplog.text


def test_parse_gin_relative_path_and_nested_includes(tmp_path, monkeypatch, caplog):
    # Every include path is relative to the folder of the file given (configs/).
    _write(str(tmp_path / "configs" / "top.gin"), "include 'mid.gin'\ntrain.steps = 7\n")
    _write(str(tmp_path / "configs" / "mid.gin"), "include 'shared/leaf.gin'\n")
    _write(str(tmp_path / "configs" / "shared" / "leaf.gin"), "include '../base.gin'\n")
    _write(str(tmp_path / "base.gin"), "train.steps = 5\nevaluate.batch_size = 9\n")
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    configurables.parse_gin([os.path.join("configs", "top.gin")])
    assert gin.query_parameter("train.steps") == 7
    assert gin.query_parameter("evaluate.batch_size") == 9
    assert "Path not found" not in caplog.text


def test_parse_gin_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.gin"):
        configurables.parse_gin([str(tmp_path / "nope.gin")])


def test_parse_gin_names_a_missing_include_and_who_included_it(tmp_path):
    _write(str(tmp_path / "top.gin"), "include 'mid.gin'\n")
    _write(str(tmp_path / "mid.gin"), "include 'gone.gin'\n")
    with pytest.raises(FileNotFoundError) as error:
        configurables.parse_gin([str(tmp_path / "top.gin")])
    message = str(error.value)
    assert "gone.gin" in message and "mid.gin" in message and "top.gin" in message
