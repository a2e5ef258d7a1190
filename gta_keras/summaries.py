"""Mean ± std over seeds of finished runs: shared by scripts/seeds.py and scripts/ablation.py.

A run record is a dict with "method", "seed", "miou", "per_class_iou" (class -> IoU or
None), "miou_by_split" ("name:split" -> mIoU), "checkpoint_step" and
"checkpoint_selection", as those scripts read them from a run's eval JSONs.
"""

import json
import os

import numpy as np

from gta_keras import runs as runs_lib


def run_record(method, seed, run_dir, report, seconds=None):
    """The record of one finished run, read from its eval JSON for `report`."""
    with open(runs_lib.eval_path(run_dir, report)) as f:
        result = json.load(f)
    return {"method": method, "seed": seed, "miou": result["miou"],
            "per_class_iou": result["per_class_iou"], "seconds": seconds,
            "miou_by_split": miou_by_split(run_dir),
            "checkpoint_step": result["checkpoint_step"],
            "checkpoint_selection": result["checkpoint_selection"],
            "trained_method": result.get("method"),
            "reads_target_labels": result.get("reads_target_labels")}


def summarize(runs):
    """Per method: mean and std of mIoU and of each class's IoU over seeds."""
    methods = {}
    for method in dict.fromkeys(run["method"] for run in runs):
        mine = [run for run in runs if run["method"] == method]
        classes = [name for name, value in mine[0]["per_class_iou"].items()
                   if value is not None]
        per_class = {
            name: mean_std([run["per_class_iou"][name] for run in mine]) for name in classes}
        splits = mine[0]["miou_by_split"]
        methods[method] = {
            "miou": mean_std([run["miou"] for run in mine]),
            "per_class_iou": per_class, "num_seeds": len(mine),
            "miou_by_split": {split: mean_std([run["miou_by_split"][split] for run in mine])
                              for split in splits}}
    return methods


def checkpoint_lines(runs):
    """Which checkpoint each method's runs were scored at, seed by seed."""
    lines = ["Checkpoints scored (step per seed):", ""]
    for method in dict.fromkeys(run["method"] for run in runs):
        mine = [run for run in runs if run["method"] == method]
        steps = ", ".join(str(run["checkpoint_step"]) for run in mine)
        lines.append(f"- {method}: {steps} ({mine[0]['checkpoint_selection']})")
    return "\n".join(lines) + "\n"


def miou_by_split(run_dir):
    """mIoU of every split the run evaluated (e.g. the source's validation split too)."""
    folder = os.path.join(run_dir, runs_lib.EVAL_DIR)
    scores = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            result = json.load(f)
        scores[f"{result['dataset']}:{result['split']}"] = result["miou"]
    return scores


def mean_std(values):
    """{"mean", "std"} of values (None ignored), population std as numpy's default."""
    values = np.asarray([v if v is not None else np.nan for v in values], np.float64)
    return {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}


def cell(stat):
    """"12.3 ± 0.4" in percent, "-" for None."""
    if stat is None:
        return "-"
    return f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f}"


def per_class_table(methods):
    """Classes as rows, methods as columns, IoU mean ± std in percent (markdown).

    Args:
      methods: `summarize`'s dict.

    Returns:
      The table, with a bold mIoU row last.
    """
    names = list(methods)
    classes = list(methods[names[0]]["per_class_iou"])
    lines = ["| class | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for name in classes:
        cells = [cell(methods[m]["per_class_iou"].get(name)) for m in names]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **mIoU** | " + " | ".join(
        f"**{cell(methods[m]['miou'])}**" for m in names) + " |")
    return "\n".join(lines) + "\n"
