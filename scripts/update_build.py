"""Rewrites the Bazel BUILD file from the source tree (run after adding a module).

  python scripts/update_build.py

One `py_library` per package folder, a `py_binary` for the CLI and each script, a
`py_test` per test file. tests/test_build_file.py fails when a `.py` file is missing.
Third-party packages come from setup.py's pins; with rules_python they would be
`requirement(...)` deps of `:gta_keras`.
"""

import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = '''# Bazel targets (rules_python). Regenerate with `python scripts/update_build.py`.
load("@rules_python//python:defs.bzl", "py_binary", "py_library", "py_test")

package(default_visibility = ["//visibility:public"])
'''


def _files(pattern):
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern),
                                                              recursive=True))


def _is_test(path):
    name = os.path.basename(path)
    return name.startswith("test_") or name.endswith("_test.py")


def _list(items, indent=8):
    pad = " " * indent
    return "[\n" + "".join(f'{pad}"{item}",\n' for item in items) + " " * (indent - 4) + "]"


def _target(kind, name, **attrs):
    lines = [f"{kind}(", f'    name = "{name}",']
    for key, value in attrs.items():
        rendered = _list(value) if isinstance(value, list) else f'"{value}"'
        lines.append(f"    {key} = {rendered},")
    return "\n".join(lines) + "\n)\n"


def build_file():
    """The BUILD text for the current tree."""
    library = [p for p in _files("gta_keras/**/*.py") if p != "gta_keras/main.py"]
    datasets = [p for p in _files("datasets/**/*.py") if not _is_test(p)]
    data = ["datasets/*/dummy_data/**", "datasets/*/validation_frames.txt",
            "datasets/*/README.md", "datasets/*/CITATIONS.bib", "gin/*.gin"]
    parts = [HEADER]
    parts.append(_target("py_library", "gta_keras", srcs=library + datasets,
                         imports=["."]).replace(
        "    imports", f"    data = glob({_list(data)}),\n    imports"))
    parts.append(_target("py_binary", "main", srcs=["gta_keras/main.py"],
                         main="gta_keras/main.py", deps=[":gta_keras"]))
    for script in _files("scripts/*.py"):
        name = os.path.splitext(os.path.basename(script))[0]
        parts.append(_target("py_binary", name, srcs=[script], main=script,
                             deps=[":gta_keras"]))
    helpers = [p for p in _files("tests/*.py") if not _is_test(p)] + ["conftest.py"]
    parts.append(_target("py_library", "test_helpers", srcs=helpers, deps=[":gta_keras"]))
    for test in _files("tests/test_*.py") + _files("datasets/**/*_test.py"):
        name = os.path.splitext(os.path.basename(test))[0]
        parts.append(_target("py_test", name, srcs=[test], main=test,
                             deps=[":gta_keras", ":test_helpers"]))
    return "\n".join(parts)


def main():
    with open(os.path.join(ROOT, "BUILD"), "w") as f:
        f.write(build_file())


if __name__ == "__main__":
    main()
