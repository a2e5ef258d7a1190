"""BUILD is exactly what scripts/update_build.py writes, and its targets are real tests.

Runs under pytest and under Bazel (`//:test_build_file` has the source tree as data).
"""

import ast
import difflib
import glob
import os
import re

from tests import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _update_build():
    return cli.import_script("scripts/update_build.py")


def _build_text():
    with open(os.path.join(ROOT, "BUILD"), encoding="utf-8") as f:
        return f.read()


def _targets(kind):
    """{name: body} of every `kind(...)` rule in BUILD."""
    found = {}
    for match in re.finditer(rf'^{kind}\(\n    name = "([^"]+)",\n(.*?)^\)', _build_text(),
                             re.MULTILINE | re.DOTALL):
        found[match.group(1)] = match.group(2)
    return found


def _python_files():
    found = set()
    for folder in ("gta_keras", "datasets", "tests", "scripts"):
        for path in glob.glob(os.path.join(ROOT, folder, "**", "*.py"), recursive=True):
            found.add(os.path.relpath(path, ROOT))
    return found


def _test_files():
    return sorted(p for p in _python_files()
                  if os.path.basename(p).startswith("test_") or p.endswith("_test.py"))


def test_build_is_what_update_build_writes():
    expected = _update_build().build_file(ROOT)
    actual = _build_text()
    diff = "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                        "BUILD", "scripts/update_build.py"))
    assert not diff, f"BUILD is stale: run `python scripts/update_build.py`.\n{diff}"


def test_every_python_file_is_in_build():
    named = set(re.findall(r'"([^"]+\.py)"', _build_text()))
    missing = sorted(_python_files() - named - set(_update_build().OUTSIDE_BAZEL))
    assert not missing, f"Not in BUILD: {missing}. Run `python scripts/update_build.py`."


def test_build_names_no_missing_file():
    named = set(re.findall(r'"([^":/*][^":*]*\.py)"', _build_text()))
    stale = sorted(p for p in named if not p.startswith("staged/")
                   and not os.path.exists(os.path.join(ROOT, p)))
    assert not stale, f"BUILD names files that do not exist: {stale}"


def test_every_test_file_is_a_py_test_that_runs_pytest_on_it():
    """A py_test whose main is the test module only imports it and passes: main is pytest."""
    tests = _targets("py_test")
    update_build = _update_build()
    for path in _test_files():
        name = os.path.splitext(os.path.basename(path))[0]
        if path in update_build.OUTSIDE_BAZEL:
            assert name not in tests, f"{path} runs Bazel: not a py_test"
            continue
        assert name in tests, f"no py_test for {path}"
        body = tests[name]
        run = path if path == update_build.TREE_TEST else update_build.staged_path(path)
        assert 'main = "//third_party/bazel:pytest_main.py"' in body, name
        assert f'args = ["{run}"]' in body, name
        assert f'"{run}"' in body.split("main =")[0], f"{name}: {run} not in srcs"


def test_slow_files_are_tagged_slow_and_large():
    tests = _targets("py_test")
    update_build = _update_build()
    for path in _test_files():
        name = os.path.splitext(os.path.basename(path))[0]
        if path in update_build.OUTSIDE_BAZEL:
            continue
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        slow = any(isinstance(node, ast.Assign)
                   and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
                   and "pytest.mark.slow" in ast.unparse(node.value)
                   for node in tree.body)
        assert update_build.is_slow(path, ROOT) == slow, path
        body = tests[name]
        if slow:
            assert 'tags = ["slow"]' in body and 'size = "large"' in body, name
        else:
            assert '"slow"' not in body and 'size = "medium"' in body, name


def test_staging_mirrors_setup_py_package_dir():
    """Bazel stages datasets/ as gta_keras/datasets/, as setup.py installs it."""
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        setup = f.read()
    package_dir = ast.literal_eval(re.search(r"package_dir=(\{[^}]*\})", setup).group(1))
    update_build = _update_build()
    staged = update_build.package_dir()
    assert {folder: installed.replace("/", ".") for folder, installed in staged.items()} == {
        folder: package for package, folder in package_dir.items()}
    for package, folder in package_dir.items():
        source = f"{folder}/x.py"
        assert update_build.staged_path(source) == "staged/" + package.replace(".", "/") + "/x.py"


def test_no_top_level_datasets_module_is_installed():
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        setup = f.read()
    assert '"gta_keras.datasets": "datasets"' in setup
    assert 'packages=["datasets"' not in setup
