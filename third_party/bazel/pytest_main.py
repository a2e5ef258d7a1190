"""Runs one pytest file as a Bazel `py_test`: `main` of every test target in BUILD.

  py_test(srcs = [<this file>, "staged/tests/test_x.py"], args = ["staged/tests/test_x.py"])

pytest's exit status is the test's: a failing, erroring or missing test fails the target
(a `py_test` whose main is the test module itself only imports it and exits 0). pytest runs
in the staged repository's root (the folder with pytest.ini), as `make test` runs in the
repository's, so pytest.ini, conftest.py and paths such as gin/smoke.gin are the same as
there; the JUnit report goes where Bazel asks ($XML_OUTPUT_FILE), so
`bazel-testlogs/<target>/test.xml` lists every test case.
"""

import importlib.util
import os
import sys


def _check_origin(name):
    """Fails if `name` would be imported from outside Bazel's runfiles (the working tree)."""
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        spec = None
    origin = spec.origin if spec else None
    print(f"pytest_main: {name} from {origin or '(nowhere: not importable here)'}", flush=True)
    runfiles = os.environ.get("TEST_SRCDIR") or os.environ.get("RUNFILES_DIR")
    if origin and runfiles and not os.path.abspath(origin).startswith(
            os.path.abspath(runfiles) + os.sep):
        sys.exit(f"pytest_main: {name} must come from Bazel's runfiles ({runfiles}), "
                 f"not {origin}")


def _repository_root(path):
    """The nearest folder above `path` with pytest.ini: where `make test` would run."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(os.path.join(folder, "pytest.ini")):
        if os.path.dirname(folder) == folder:
            sys.exit(f"pytest_main: no pytest.ini above {path}: is it in the target's data?")
        folder = os.path.dirname(folder)
    return folder


def main(argv):
    # Not this file's folder on sys.path: the staged tree is, as under pytest.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    for name in ("gta_keras", "gta_keras.datasets"):
        _check_origin(name)
    import pytest  # pylint: disable=g-import-not-at-top

    if len(argv) != 1:
        sys.exit(f"pytest_main: expected one test file, got {argv}")
    path = os.path.abspath(argv[0])
    xml = os.environ.get("XML_OUTPUT_FILE")
    # Run from the (staged) repository's root, as `make test` does: tests may name files
    # such as gin/smoke.gin relative to the working directory.
    root = _repository_root(path)
    os.chdir(root)
    # Bazel's sandbox leaves HOME read-only, so TFDS's default data dir
    # (~/tensorflow_datasets), where tests that use the defaults as a user would prepare
    # the demo data, moves to this test's scratch folder (TFDS reads TFDS_DATA_DIR when
    # it is imported, which is later; subprocesses inherit it).
    if os.environ.get("TEST_TMPDIR") and "TFDS_DATA_DIR" not in os.environ:
        os.environ["TFDS_DATA_DIR"] = os.path.join(os.environ["TEST_TMPDIR"],
                                                   "tensorflow_datasets")
    args = [os.path.relpath(path, root)]
    if xml:
        args.append(f"--junitxml={os.path.abspath(xml)}")
    return pytest.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
