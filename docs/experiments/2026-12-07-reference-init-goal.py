"""Issue 19's goal for lsd runs against the source-only runs recorded for the same CPU.

Source-only builds no G or D, so G's and D's initialisation does not touch it: its runs
of gin/demo.gin on a CPU are those listed in gin/demo_expected.json (exact mIoU from their
eval JSONs, each with its seed, numeric path and machine). This reads the lsd runs' eval
JSONs (`<folder>/lsd_seed<k><suffix>[_<path>]/eval/`), pairs each with the listed
source-only run of the same seed and path on the machine named by `--machine`, and prints
the table, the gain with `gta_keras.summaries.gain_stats` (the seeds runner's statistics)
and item 4's three goals, on realistic/validation.

  .venv/bin/python docs/experiments/2026-12-07-reference-init-goal.py runs/init_screen \
      --suffix=_init002 --machine="Zen 4"
"""

import argparse
import json
import os
import statistics

from gta_keras import machine
from gta_keras import runners
from gta_keras import summaries

SPLIT = "procedural_streets/realistic:validation"
PATHS = ("default", "no_onednn", "one_thread")


def source_only_runs(machine):
    """{(seed, path): (mIoU in %, machine line)} listed for gin/demo.gin on `machine`."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "gin", "demo_expected.json")) as f:
        listed = json.load(f)["gin/demo.gin"]["methods"]["source_only"][SPLIT]
    return {(run["seed"], run["numerics"]): (100 * run["miou"], run["machine"])
            for run in listed if machine in run["machine"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--suffix", default="")
    parser.add_argument("--machine", required=True)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    baseline = source_only_runs(args.machine)
    lsd, source, gains = {}, {}, []
    for path in PATHS:
        for seed in range(args.seeds):
            name = f"lsd_seed{seed}{args.suffix}" + ("" if path == "default" else f"_{path}")
            result = runners.read_eval(os.path.join(args.folder, name), SPLIT)
            if result is None or (seed, path) not in baseline:
                continue
            lsd[(seed, path)] = (100 * result["miou"], machine.one_line(result["machine"]))
            source[(seed, path)] = baseline[(seed, path)]
            gains.append(lsd[(seed, path)][0] - source[(seed, path)][0])
    print(f"{SPLIT}, mIoU (%), seeds 0-{args.seeds - 1}")
    for method, found in (("source_only", source), ("lsd", lsd)):
        for path in PATHS:
            row = [found.get((seed, path)) for seed in range(args.seeds)]
            print(f"  {method:12s} {path:11s}",
                  " ".join("  -  " if v is None else f"{v[0]:5.1f}" for v in row))
    for method, found in (("source_only", source), ("lsd", lsd)):
        for line in sorted({stamp for _, stamp in found.values()}):
            print(f"  {method} machine: {line}")
    stats = summaries.gain_stats(gains)
    if not stats or stats["std"] is None:
        print("  fewer than two pairs")
        return
    values = {m: [v for v, _ in found.values()] for m, found in (("source_only", source),
                                                                 ("lsd", lsd))}
    ratio = statistics.stdev(values["lsd"]) / statistics.stdev(values["source_only"])
    for method, found in values.items():
        print(f"  {method}: {statistics.mean(found):.1f} ± {statistics.stdev(found):.1f} "
              f"(n={len(found)})")
    print(f"  gain over {stats['pairs']} pairs: mean {stats['mean']:+.2f}, std "
          f"{stats['std']:.1f}, min {stats['min']:+.1f}, lsd ahead in "
          f"{round(stats['positive_share'] * stats['pairs'])} of {stats['pairs']}, 95% "
          f"interval [{stats['ci95'][0]:+.1f}, {stats['ci95'][1]:+.1f}]; lsd's std "
          f"{ratio:.2f}x source-only's")
    print(f"  item 4: mean gain >= +5: {stats['mean'] >= 5}; ahead in >= 90%: "
          f"{stats['positive_share'] >= 0.9}; std ratio <= 2: {ratio <= 2}")


if __name__ == "__main__":
    main()
