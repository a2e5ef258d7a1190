"""Shared pytest set-up: quiet TensorFlow, a clean gin config for every test, and the
demo's data generated once per test session."""

import fcntl
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # pylint: disable=g-import-not-at-top
import pytest  # pylint: disable=g-import-not-at-top

# The embedded pair the demo and gin/smoke.gin train and evaluate on.
DEMO_DATASETS = ("procedural_streets/synthetic", "procedural_streets/realistic")


def pytest_collection_modifyitems(items):
    """Files with end-to-end runs (tests marked slow) first, each file's tests in order.

    `make test` hands whole files to two workers in this order
    (`--no-loadscope-reorder`): the long files start early and the many short ones fill
    in behind them, so both workers end close together. In pytest-xdist's own order (most
    tests first) a 70 s end-to-end file came last and one worker waited 30 s for it.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # Stable: False sorts first.


@pytest.fixture(autouse=True)
def clear_gin():
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory):
    """A TFDS data dir holding the demo pair, for the end-to-end runs to read.

    Generated once per test session and shared by pytest-xdist's worker processes (under
    a file lock, in the folder they share): rendering the pair takes about 50 s on two
    cores, and every run reads the same frames. The runs only read it; a test of data
    preparation itself uses a folder of its own.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # The session's folder, above each worker's own.
    data_dir = base / "demo_tfds"
    with open(base / "demo_tfds.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # The other worker waits while one renders.
        done = data_dir / "prepared"
        if not done.exists():
            # In a process of its own: the renderer forks its workers, and forking a test
            # process that has run TensorFlow's threads left them stuck (seen once).
            from tests import cli  # pylint: disable=import-outside-toplevel
            cli.assert_ok(cli.run([sys.executable, "-c", (
                "import sys; from gta_keras.data import pipeline\n"
                "for name in sys.argv[2:]:\n"
                "    pipeline.prepare_split(name, data_dir=sys.argv[1])"),
                str(data_dir), *DEMO_DATASETS]))
            done.touch()
    return data_dir
