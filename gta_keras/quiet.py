"""A quiet start for the command line: hides TensorFlow's C++ start-up lines.

On TF 2.21, `import tensorflow` and the first device lookup write lines such as

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... port.cc:153] oneDNN custom operations are on. ...
    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will ...
    I0000 ... cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use ...
    To enable the following instructions: AVX2 ... rebuild TensorFlow with the ...
    E0000 ... cuda_platform.cc:52] failed call to cuInit: ... UNKNOWN ERROR (303)

straight to file descriptor 2 from C++, before TensorFlow reads `TF_CPP_MIN_LOG_LEVEL`, so
neither that variable nor Python's logging can hide them; the `E` line reads like a failure
on every machine without a GPU. `install()` therefore points descriptor 2 at a temporary
file while TensorFlow is imported and lists its devices, then puts it back and writes out
every captured line that is not one of those known lines (matched narrowly, so anything
else, e.g. a Python warning or an unexpected C++ error, still shows, only later). It also
sets `TF_CPP_MIN_LOG_LEVEL=1` unless the user set it, which hides TensorFlow's later C++
INFO lines (e.g. tf.data's buffer-size notice) and keeps its warnings and errors; and it
drops Python log records below WARNING that come from inside the tensorflow and
tensorflow_datasets packages ("Load dataset info from ...", "Reusing dataset ...",
"Sharding callback duration ..." at every dataset load and save), which are for those
libraries' developers. Records at WARNING and above, and every record from gta_keras
itself (e.g. "Wrote .../eval/....json"), still show.

Only programs call it (`gta_keras.main`, `gta_keras.predict`, the scripts), under
`if __name__ == "__main__"`: importing gta_keras from a notebook or a test never touches the
caller's file descriptors. With absl's `--verbosity=1` (`-v 1`) or more on the command line
`install()` does nothing, and every line is printed as TensorFlow writes it.
"""

import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

from absl import logging as absl_logging


def _cpp_line(severity, message):
    """A pattern for one absl C++ log line: severity, date, time, thread, `file.cc:line] `.

    Before `absl::InitializeLog()` (always, in TF 2.21) the date is 0000 and the time is
    "00:00:<seconds since 1970>", so the seconds take any number of digits.
    """
    return re.compile(severity + r"\d{4} \d\d:\d\d:\d+\.\d+ +\d+ " + message)


_INIT_LOG_NOTICE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR$")
_NO_CUDA_DRIVER = _cpp_line(
    "I", r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, "
    r"GPU will not be used\.$")
# Lines TensorFlow writes at every start on a CPU machine, and nothing else.
_ALWAYS_NOISE = (
    _INIT_LOG_NOTICE,
    _NO_CUDA_DRIVER,
    _cpp_line("I", r"port\.cc:\d+\] oneDNN custom operations are on\. "),
    _cpp_line("I", r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized to "
              r"use available CPU instructions in performance-critical operations\.$"),
    re.compile(r"To enable the following instructions: [A-Z0-9_. ]+, in other operations, "
               r"rebuild TensorFlow with the appropriate compiler flags\.$"),
)
# cuInit's error 303 is what a machine without any CUDA driver reports. It is hidden only
# when the same start-up also said "Could not find cuda drivers": on a machine with a
# driver, a failed cuInit is a real problem and stays on screen.
_CUINIT_WITHOUT_DRIVER = _cpp_line(
    "E", r"cuda_platform\.cc:\d+\] failed call to cuInit: .*\(303\)$")

_VERBOSITY_FLAGS = ("verbosity", "v")
# Packages whose INFO log records are hidden on a normal run.
_CHATTY_PACKAGES = ("tensorflow", "tensorflow_datasets")


def verbosity(argv=None):
    """absl's `--verbosity` as given on the command line, read before absl parses flags.

    Accepts the spellings absl accepts: `--verbosity=N`, `--verbosity N`, `-v N`, `-v=N`,
    `--v=N`, with one dash or two.

    Args:
      argv: the command line; `sys.argv` by default.

    Returns:
      The last value given, or 0 (absl's default) when there is none or it is not a number.
    """
    argv = sys.argv if argv is None else argv
    level = 0
    args = list(argv[1:])
    for i, arg in enumerate(args):
        if arg == "--":  # absl stops reading flags here.
            break
        if not arg.startswith("-"):
            continue
        name, has_value, value = arg.lstrip("-").partition("=")
        if name not in _VERBOSITY_FLAGS:
            continue
        if not has_value:
            value = args[i + 1] if i + 1 < len(args) else ""
        try:
            level = int(value)
        except ValueError:
            pass  # absl will report the bad value itself.
    return level


def is_noise(lines):
    """Which captured stderr lines are TensorFlow's known start-up lines.

    Args:
      lines: the captured lines, without line ends, in order.

    Returns:
      A list of booleans, one per line.
    """
    no_driver = any(_NO_CUDA_DRIVER.match(line) for line in lines)
    return [any(pattern.match(line) for pattern in _ALWAYS_NOISE)
            or (no_driver and bool(_CUINIT_WITHOUT_DRIVER.match(line)))
            for line in lines]


def filter_noise(text):
    """`text` (captured stderr) without TensorFlow's known start-up lines."""
    lines = text.splitlines(keepends=True)
    flags = is_noise([line.rstrip("\r\n") for line in lines])
    return "".join(line for line, noise in zip(lines, flags) if not noise)


class _CapturedStderr:
    """Points file descriptor 2 at a temporary file; on exit, writes back what is not noise.

    At the descriptor level because the lines come from C++, which never sees `sys.stderr`.
    """

    def __enter__(self):
        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc_info):
        # Also on an exception (a failed import): the traceback and what led to it matter.
        try:
            sys.stderr.flush()
        finally:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        self._file.seek(0)
        text = self._file.read().decode("utf-8", "replace")
        self._file.close()
        kept = filter_noise(text)
        if kept:
            os.write(2, kept.encode("utf-8"))
        return False


class LibraryInfoFilter(logging.Filter):
    """Drops log records below WARNING that were logged from inside the given folders."""

    def __init__(self, folders):
        super().__init__()
        self._folders = tuple(os.path.join(os.path.realpath(folder), "")
                              for folder in folders)
        self._is_inside = {}  # pathname -> bool; a few files log over and over.

    def filter(self, record):
        if record.levelno >= logging.WARNING:
            return True
        inside = self._is_inside.get(record.pathname)
        if inside is None:
            inside = os.path.realpath(record.pathname).startswith(self._folders)
            self._is_inside[record.pathname] = inside
        return not inside


def _package_folders(names):
    """The folders of the named packages, found without importing them."""
    folders = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            folders.extend(spec.submodule_search_locations)
    return folders


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's own loader and its first device lookup with stderr captured."""

    def __init__(self, loader, log_filter):
        self._loader = loader
        self._log_filter = log_filter

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # From here on, anything asking the module for its loader gets TensorFlow's own.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        with _CapturedStderr():
            self._loader.exec_module(module)
            # The cuInit line comes at the first device lookup, not at import. Listing
            # physical devices triggers it without creating the runtime context, so
            # device and threading settings made after the import still work.
            try:
                module.config.list_physical_devices()
            except Exception:  # pylint: disable=broad-except
                pass  # The program's own first use will raise it, visibly.
        # TensorFlow's logger may print through a handler of its own ("INFO:tensorflow:
        # Assets written to ..."), which the filter on absl's handler does not see.
        module.get_logger().addFilter(self._log_filter)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Catches the first `import tensorflow`, wherever it happens (keras, tfds, our code).

    A hook rather than importing TensorFlow in `install()`: a program that never needs
    TensorFlow (scripts/doctor.py for most datasets) does not pay seconds for it.
    """

    def __init__(self):
        self.log_filter = None

    def find_spec(self, fullname, path=None, target=None):
        del path, target
        if fullname != "tensorflow":
            return None
        uninstall()  # One import only, and no recursion in the find_spec below.
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader, self.log_filter)
        return spec


_FINDER = _QuietTensorFlowFinder()


def install(argv=None):
    """Hides TensorFlow's C++ start-up lines for the rest of this program.

    Call it first thing in a program's `__main__` module, before anything imports
    TensorFlow. Does nothing with `--verbosity` >= 1, or when TensorFlow is already
    imported (too late to catch its start-up).

    Args:
      argv: the command line, for `--verbosity`; `sys.argv` by default.
    """
    if verbosity(argv) >= 1:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if "tensorflow" in sys.modules or _FINDER in sys.meta_path:
        return
    # Before the finder goes in: finding "tensorflow" would trigger it.
    _FINDER.log_filter = LibraryInfoFilter(_package_folders(_CHATTY_PACKAGES))
    # absl's handler, on the root logger from app.run on, prints every library's records.
    absl_logging.get_absl_handler().addFilter(_FINDER.log_filter)
    sys.meta_path.insert(0, _FINDER)


def uninstall():
    """Removes the import hook, if TensorFlow has not been imported yet."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
