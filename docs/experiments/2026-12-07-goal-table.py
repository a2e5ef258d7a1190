"""Issue 19's goal over finished seeds-runner folders, without evaluating anything again.

Reads each run's eval JSONs (`<folder>/<method>_seed<k>[_<path>]/eval/*.json`) and prints,
per split, every (method, seed, numeric path) score, each method's mean ± sample std, and
the paired gain of lsd over source-only with `gta_keras.summaries.gain_stats` (the
seeds runner's statistics), then item 4's three goals. A later folder's run replaces an
earlier one's of the same (method, seed, path).

  .venv/bin/python docs/experiments/2026-12-07-goal-table.py --paths=default,one_thread \
      runs/seeds_noise
"""

import argparse
import os
import statistics

from gta_keras import runners
from gta_keras import summaries

SPLITS = ("procedural_streets/realistic:tuning", "procedural_streets/realistic:validation")


def scores(folders, paths, seeds, split):
    """{(method, seed, path): mIoU in %} of the runs that scored `split`."""
    found = {}
    for folder in folders:
        for method in ("source_only", "lsd"):
            for seed in range(seeds):
                for path in paths:
                    run_dir = os.path.join(folder, summaries.run_name(method, seed, path))
                    result = runners.read_eval(run_dir, split)
                    if result is not None:
                        found[(method, seed, path)] = 100 * result["miou"]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--paths", default="default")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    paths = args.paths.split(",")
    for split in SPLITS:
        print_split(split, scores(args.folders, paths, args.seeds, split), paths,
                    args.seeds)


def print_split(split, found, paths, seeds):
    """Prints the table of `found` ({(method, seed, path): mIoU in %}), each method's
    mean ± std, the paired gain of lsd over source-only and item 4's three goals."""
    print(f"\n{split}, mIoU (%), seeds 0-{seeds - 1} per path")
    for method in ("source_only", "lsd"):
        for path in paths:
            row = [found.get((method, seed, path)) for seed in range(seeds)]
            print(f"  {method:12s} {path:11s}",
                  " ".join("  -  " if v is None else f"{v:5.1f}" for v in row))
    by_method = {m: [v for (method, _, _), v in sorted(found.items()) if method == m]
                 for m in ("source_only", "lsd")}
    gains = [found[("lsd", s, p)] - found[("source_only", s, p)]
             for s in range(seeds) for p in paths
             if ("lsd", s, p) in found and ("source_only", s, p) in found]
    for method, values in by_method.items():
        if len(values) > 1:
            print(f"  {method}: {statistics.mean(values):.1f} ± "
                  f"{statistics.stdev(values):.1f} (n={len(values)})")
    stats = summaries.gain_stats(gains)
    if stats and stats["std"] is not None:
        ratio = (statistics.stdev(by_method["lsd"])
                 / statistics.stdev(by_method["source_only"]))
        print(f"  gain over {stats['pairs']} pairs: mean {stats['mean']:+.2f}, std "
              f"{stats['std']:.1f}, min {stats['min']:+.1f}, lsd ahead in "
              f"{100 * stats['positive_share']:.0f}%, 95% interval "
              f"[{stats['ci95'][0]:+.1f}, {stats['ci95'][1]:+.1f}]; lsd's std "
              f"{ratio:.1f}x source-only's")
        print(f"  item 4: mean gain >= +5: {stats['mean'] >= 5}; ahead in >= 90%: "
              f"{stats['positive_share'] >= 0.9}; std ratio <= 2: {ratio <= 2}")

if __name__ == "__main__":
    main()
