"""Issue 19's goal for lsd runs against the source-only runs recorded for the same CPU.

Source-only builds no G or D, so G's and D's initialisation does not touch it: its runs
of gin/demo.gin on a CPU are those listed in gin/demo_expected.json (exact mIoU from their
eval JSONs, each with its seed, numeric path and machine). This reads the lsd runs' eval
JSONs (`<folder>/lsd_seed<k><suffix>[_<path>]/eval/`), pairs each with the listed
source-only run of the same seed and path on the machine named by `--machine`, and prints
2026-12-07-goal-table.py's table, gain and item 4's three goals on realistic/validation,
then the machine line of each run.

  .venv/bin/python docs/experiments/2026-12-07-reference-init-goal.py runs/init_screen \
      --suffix=_init002 --machine="Zen 4"
"""

import argparse
import importlib.util
import json
import os

from gta_keras import machine
from gta_keras import runners

HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT = "procedural_streets/realistic:validation"
PATHS = ("default", "no_onednn", "one_thread")


def goal_table():
    """2026-12-07-goal-table.py as a module (its name is not an importable one)."""
    spec = importlib.util.spec_from_file_location(
        "goal_table", os.path.join(HERE, "2026-12-07-goal-table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_only_runs(cpu):
    """{(seed, path): (mIoU in %, machine text)} listed for gin/demo.gin on `cpu`."""
    with open(os.path.join(HERE, "..", "..", "gin", "demo_expected.json")) as f:
        listed = json.load(f)["gin/demo.gin"]["methods"]["source_only"][SPLIT]
    return {(run["seed"], run["numerics"]): (100 * run["miou"], run["machine"])
            for run in listed if cpu in run["machine"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--suffix", default="")
    parser.add_argument("--machine", required=True)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    baseline = source_only_runs(args.machine)
    found, stamps = {}, {"source_only": set(), "lsd": set()}
    for path in PATHS:
        for seed in range(args.seeds):
            name = f"lsd_seed{seed}{args.suffix}" + ("" if path == "default" else f"_{path}")
            result = runners.read_eval(os.path.join(args.folder, name), SPLIT)
            if result is None or (seed, path) not in baseline:
                continue
            found[("lsd", seed, path)] = 100 * result["miou"]
            stamps["lsd"].add(machine.one_line(result["machine"]))
            found[("source_only", seed, path)], stamp = baseline[(seed, path)]
            stamps["source_only"].add(stamp)
    goal_table().print_split(SPLIT, found, PATHS, args.seeds)
    for method, lines in stamps.items():
        for line in sorted(lines):
            print(f"  {method} machine: {line}")


if __name__ == "__main__":
    main()
