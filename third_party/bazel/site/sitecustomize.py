"""Imported by every Python process that Bazel starts (its folder is on $PYTHONPATH there).

Switches off editable installs (`pip install -e .`, as `make` does): their import hook would
resolve any module missing from Bazel's runfiles to the working tree, so a BUILD that forgot
a file would still pass. Under Bazel, `gta_keras` comes from the staged tree or not at all.

Under `bazel run`, moves to the folder `bazel` was called from ($BUILD_WORKING_DIRECTORY), as
`python -m ...` would run there: relative paths such as `--gin_file=gin/smoke.gin` or
`--workdir=runs/x` mean the same under both. Only the first process does so (the variable is
removed), so a program's own subprocesses keep the working directory they are given.

Then runs the interpreter's own sitecustomize, if it has one.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _is_editable(hook):
    module = getattr(hook, "__module__", "") or ""
    owner = getattr(hook, "__self__", None)  # a bound classmethod path hook
    owner_module = getattr(owner, "__module__", "") or ""
    return module.startswith("__editable__") or owner_module.startswith("__editable__")


sys.meta_path[:] = [f for f in sys.meta_path if not _is_editable(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if not _is_editable(h)]
sys.path[:] = [p for p in sys.path if not os.path.basename(p).startswith("__editable__")]
sys.path_importer_cache.clear()

_HERE = os.path.dirname(os.path.abspath(__file__))
_CALLER_DIR = os.environ.pop("BUILD_WORKING_DIRECTORY", None)
if _CALLER_DIR and "TEST_SRCDIR" not in os.environ and os.path.isdir(_CALLER_DIR):
    os.chdir(_CALLER_DIR)

_NEXT = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _HERE])
if _NEXT is not None and _NEXT.loader is not None:
    _module = importlib.util.module_from_spec(_NEXT)
    _NEXT.loader.exec_module(_module)
