"""Prints a run's result beside the range expected for its gin configuration.

  python scripts/expected_range.py --gin_file=gin/demo.gin --workdir=runs/demo

`make demo` runs it after training, so that a user can tell a normal draw from a broken
install: float rounding differs by CPU and numeric path, and the adversarial game amplifies
it like a new seed, so one run's mIoU is a draw from a spread, not a fixed number.

The expected figures are the measured runs in `gin/demo_expected.json` (one data file, keyed
by gin file, then method, then "name:split"; each run names its seed, numeric path and
machine; each method's "labels" entry says where its runs come from, as methods may have
been measured on other CPUs), not a range typed by hand: the range printed is mean ± 2 std
over those runs, the std the sample std (n - 1). A result outside it is reported, not an
error (exit status 0): below it points at a broken install or an unusual draw, above it is
a better draw.
Reads only JSON files (no TensorFlow), so it adds nothing noticeable to the demo's time.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import json
import math
import os
import sys

from absl import app
from absl import flags

from gta_keras import runs as runs_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED = os.path.join(ROOT, "gin", "demo_expected.json")

FLAGS = flags.FLAGS


def _define_flags():
    """Defined only when run as a program (tests import this module)."""
    flags.DEFINE_string("gin_file", "gin/demo.gin", "The gin file the run trained with.")
    flags.DEFINE_string("workdir", "runs/demo", "The run's folder.")
    flags.DEFINE_string("expected", EXPECTED, "The expected figures (JSON).")


def expected_range(values):
    """mean ± 2 std (sample std) of `values`.

    Returns:
      {"n", "mean", "std", "low", "high"}; std 0 for a single value.
    """
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"n": n, "mean": mean, "std": std, "low": mean - 2 * std, "high": mean + 2 * std}


def config_key(gin_file):
    """The data file's key of a gin file: its path from the repository root."""
    path = os.path.abspath(gin_file)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else gin_file


def short_name(spec):
    """"procedural_streets/realistic:validation" -> "realistic/validation"."""
    name, split = runs_lib.parse_dataset_spec(spec)
    return f"{name.rsplit('/', 1)[-1]}/{split}"


def verdict(value, bounds):
    """Whether `value` is inside [low, high], and what that says."""
    if value < bounds["low"]:
        return ("BELOW the range: a broken install or an unusual draw; measure this machine's "
                "spread with scripts/seeds.py (README, first section)")
    if value > bounds["high"]:
        return "above the range: a better draw than those measured, not a broken install"
    return "inside the range"


def report(gin_file, workdir, expected_path=EXPECTED):
    """The lines comparing the run in `workdir` with the figures for `gin_file`.

    Returns:
      One line per split that has expected figures and a result; else one line saying why
      there is no comparison (no figures for the configuration or method, no result yet, a
      run of another length).
    """
    with open(expected_path) as f:
        expected = json.load(f)
    key = config_key(gin_file)
    config = expected.get(key)
    if config is None:
        return [f"No expected range recorded for {key} (in {os.path.relpath(expected_path)})."]
    lines = []
    for spec in _specs(config):
        path = runs_lib.eval_path(workdir, spec)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            result = json.load(f)
        method = result.get("method")
        runs = config["methods"].get(method, {}).get(spec)
        if runs is None:
            lines.append(f"{short_name(spec)}: no expected range for method {method!r} of "
                         f"{key}.")
            continue
        if config.get("steps") and result.get("checkpoint_step") != config["steps"]:
            lines.append(f"{short_name(spec)}: scored at step {result.get('checkpoint_step')}, "
                         f"not the {config['steps']} the expected range of {key} is for.")
            continue
        bounds = expected_range([run["miou"] for run in runs])
        lines.append(
            f"{short_name(spec)} mIoU {100 * result['miou']:.1f}; expected for {key} "
            f"({method}): {100 * bounds['low']:.1f}-{100 * bounds['high']:.1f} (mean ± 2 std "
            f"over {bounds['n']} runs: {config['labels'][method]}): "
            f"{verdict(result['miou'], bounds)}.")
    return lines or [f"No result in {workdir} to compare with {key}'s expected range."]


def _specs(config):
    """Every "name:split" with figures for any method, in the file's order."""
    return list(dict.fromkeys(spec for splits in config["methods"].values() for spec in splits))


def main(argv):
    del argv
    for line in report(FLAGS.gin_file, FLAGS.workdir, FLAGS.expected):
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    _define_flags()
    app.run(main)
