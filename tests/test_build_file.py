"""BUILD names every module, script and test of the tree."""

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _named_in_build():
    with open(os.path.join(ROOT, "BUILD")) as f:
        return set(re.findall(r'"([^"]+\.py)"', f.read()))


def _python_files():
    found = set()
    for folder in ("gta_keras", "datasets", "tests", "scripts"):
        for path in glob.glob(os.path.join(ROOT, folder, "**", "*.py"), recursive=True):
            found.add(os.path.relpath(path, ROOT))
    return found


def test_every_python_file_is_in_build():
    missing = sorted(_python_files() - _named_in_build())
    assert not missing, (f"Not in BUILD: {missing}. Run `python scripts/update_build.py`.")


def test_build_names_no_missing_file():
    stale = sorted(p for p in _named_in_build() if not os.path.exists(os.path.join(ROOT, p)))
    assert not stale, f"BUILD names files that do not exist: {stale}"


def test_every_test_file_has_a_py_test():
    with open(os.path.join(ROOT, "BUILD")) as f:
        text = f.read()
    tests = [p for p in _python_files()
             if os.path.basename(p).startswith("test_") or p.endswith("_test.py")]
    for path in tests:
        name = os.path.splitext(os.path.basename(path))[0]
        assert f'py_test(\n    name = "{name}"' in text, path


def test_no_top_level_datasets_module_is_installed():
    with open(os.path.join(ROOT, "setup.py")) as f:
        setup = f.read()
    assert '"gta_keras.datasets": "datasets"' in setup
    assert 'packages=["datasets"' not in setup
