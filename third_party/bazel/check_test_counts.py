"""Checks that each Bazel test ran every test of its file: "N passed" == pytest's count.

  bazel test //...                      # or --config=quick
  python third_party/bazel/check_test_counts.py [--skip_tag=slow] [TARGET ...]
  # or: bazel run //third_party/bazel:check_test_counts

For every py_test of BUILD that has a log in bazel-testlogs/, reads the summary line pytest
wrote there (`== 12 passed in 3.70s ==`) and compares it with what `pytest --collect-only`
collects from the same file in the source tree: N passed must be the number of collected
tests, less those whose declaration says in advance that they do not run (a skip mark, a
skipif that holds, unittest's @skip, TensorFlow's `test_session` helper; an xfail mark), which
must show as skipped / xfailed. Any failure, error, other skip or missing test fails the
check. Targets without a log (not run, e.g. the slow ones under --config=quick) are listed.
Exit status 1 if any target fails the check.
"""

import ast
import json
import os
import re
import subprocess
import sys

_SUMMARY = re.compile(r"^=+ (.*\d+ \w+.*) in [\d.]+s(?: \([^)]*\))? =+$", re.MULTILINE)
_COUNT = re.compile(r"(\d+) (\w+)")
_TEST = re.compile(r'^py_test\(\n    name = "([^"]+)",\n(.*?)^\)', re.MULTILINE | re.DOTALL)


def _workspace():
    if os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
        return os.environ["BUILD_WORKSPACE_DIRECTORY"]
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _source_path(run_path, root):
    """BUILD's `args` path (the staged copy) -> the file in the source tree."""
    with open(os.path.join(root, "third_party", "bazel", "defs.bzl"), encoding="utf-8") as f:
        package_dir = ast.literal_eval(
            re.search(r"^PACKAGE_DIR = (\{[^}]*\})", f.read(), re.MULTILINE)[1])
    path = run_path.removeprefix("staged/")
    for folder, installed in package_dir.items():
        if path.startswith(installed + "/"):
            return folder + path[len(installed):]
    return path


def py_tests(root, skip_tags=()):
    """{target name: source test file} of BUILD's py_test targets without `skip_tags`."""
    with open(os.path.join(root, "BUILD"), encoding="utf-8") as f:
        text = f.read()
    tests = {}
    for name, body in _TEST.findall(text):
        tags = re.search(r"^    tags = \[(.*?)\],", body, re.MULTILINE | re.DOTALL)
        if tags and set(re.findall(r'"([^"]+)"', tags[1])) & set(skip_tags):
            continue
        tests[name] = _source_path(re.search(r'^    args = \["([^"]+)"\]', body, re.MULTILINE)[1],
                                   root)
    return tests


def logged_counts(log_text):
    """{"passed": 12, ...} from the last pytest summary line of a log, or None."""
    lines = _SUMMARY.findall(log_text)
    if not lines:
        return None
    counts = {}
    for number, word in _COUNT.findall(lines[-1]):
        word = {"error": "errors", "warning": "warnings"}.get(word, word)
        counts[word] = counts.get(word, 0) + int(number)
    return counts


# Run in the source tree's interpreter: lists every collected test with the outcome its
# declaration fixes in advance ("skipped" for skip marks, skipif marks that hold here and
# unittest's @skip; "xfailed" for xfail marks), else "passed".
_COLLECT = r"""
import json, sys
import pytest
from _pytest.skipping import evaluate_skip_marks, evaluate_xfail_marks


class Lister:
    def pytest_collection_modifyitems(self, items):
        for item in items:
            obj = getattr(item, "obj", None)
            cls = getattr(item, "cls", None)
            # tf.test.TestCase.setUp skips its own helper method `test_session`.
            tf_session = (item.name == "test_session" and cls is not None
                          and any(c.__module__.startswith("tensorflow.")
                                  and c.__name__ == "TensorFlowTestCase" for c in cls.__mro__))
            if (evaluate_skip_marks(item) or getattr(obj, "__unittest_skip__", False)
                    or getattr(cls, "__unittest_skip__", False) or tf_session):
                outcome = "skipped"
            elif evaluate_xfail_marks(item):
                outcome = "xfailed"
            else:
                outcome = "passed"
            print("COLLECTED " + json.dumps([item.nodeid, outcome]))


sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]],
                     plugins=[Lister()]))
"""


def collected_counts(files, root):
    """{file: {"passed": n, "skipped": n, "xfailed": n}}: the outcomes `pytest --collect-only`
    expects for each file's tests in the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    python = os.path.join(root, ".venv", "bin", "python3")
    result = subprocess.run(
        [python if os.path.exists(python) else sys.executable, "-c", _COLLECT, *files],
        cwd=root, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"pytest --collect-only failed:\n{result.stdout}\n{result.stderr}")
    counts = {f: {} for f in files}
    for line in result.stdout.splitlines():
        if line.startswith("COLLECTED "):
            nodeid, outcome = json.loads(line[len("COLLECTED "):])
            path = nodeid.split("::", 1)[0]
            if path in counts:
                counts[path][outcome] = counts[path].get(outcome, 0) + 1
    return counts


def main(argv):
    root = _workspace()
    skip = [a.split("=", 1)[1] for a in argv if a.startswith("--skip_tag=")]
    argv = [a for a in argv if not a.startswith("--skip_tag=")]
    tests = py_tests(root, skip)
    if argv:
        unknown = sorted(set(argv) - set(tests))
        if unknown:
            raise SystemExit(f"not py_test targets of BUILD: {unknown}")
        tests = {name: tests[name] for name in argv}
    testlogs = os.path.join(root, "bazel-testlogs")
    logs = {}
    for name in tests:
        path = os.path.join(testlogs, name, "test.log")
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                logs[name] = f.read()
    collected = collected_counts(sorted({tests[name] for name in logs}), root)
    bad = 0
    for name in sorted(tests):
        if name not in logs:
            print(f"{name:48s} not run (no bazel-testlogs/{name}/test.log)")
            continue
        expected = collected[tests[name]]
        counts = logged_counts(logs[name]) or {}
        counts.pop("warnings", None)
        total = sum(expected.values())
        ok = counts == expected and expected.get("passed", 0) > 0
        bad += not ok
        declared = ", ".join(f"{v} {k}" for k, v in sorted(expected.items()) if k != "passed")
        others = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if k != "passed")
        print(f"{name:48s} {'ok ' if ok else 'BAD'} {counts.get('passed', 0)} passed"
              + (f", {others}" if others else "")
              + f"; {total} collected" + (f" ({declared} by declaration)" if declared else "")
              + ("" if logs[name] and logged_counts(logs[name]) else " (no pytest summary)"))
    print(f"{len(logs) - bad} of {len(logs)} logged targets ran every test of their file.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
