"""Mean ± std over seeds of finished runs: shared by scripts/seeds.py and scripts/ablation.py.

A run record is a dict with "method", "seed", "numerics" (the numeric path it was run on,
`machine.NUMERIC_PATHS`), "miou", "per_class_iou" (class -> IoU or None), "miou_by_split"
("name:split" -> mIoU), "checkpoint_step" and "checkpoint_selection", as those scripts read
them from a run's eval JSONs, and "oracle" and "selection_split": whether its checkpoint
was chosen on target labels, and on which split (`selection.stamp`). Every summary marks
such runs (`method_label`, `oracle_text`): their numbers are not label-free. A run
evaluated before eval JSONs said so, with a checkpoint chosen on some split, has "oracle"
None (not known) and is marked too, until it is evaluated again.

Besides each method's mean ± std, `paired_gains` pairs every method's run with
source-only's of the same seed and numeric path and reports the gain over those pairs.
"""

import json
import math
import os

import numpy as np

from gta_keras import machine
from gta_keras import runs as runs_lib

DEFAULT_NUMERICS = "default"
BASELINE = "source_only"

# Two-sided 95% quantiles of Student's t, t_{0.975, df}, for df = 1 .. 30 (the pairs of a
# few seeds times three numeric paths); beyond, `t_quantile_975` expands around the normal.
T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def run_name(method, seed, numerics=DEFAULT_NUMERICS):
    """A run's folder name: `<method>_seed<k>`, plus `_<path>` off the default path (so
    the folders of runs made before numeric paths existed are those of the default)."""
    name = f"{method}_seed{seed}"
    return name if numerics == DEFAULT_NUMERICS else f"{name}_{numerics}"


def run_record(method, seed, run_dir, report, seconds=None, numerics=DEFAULT_NUMERICS):
    """The record of one finished run, read from its eval JSON for `report`.

    "numerics" is the path the runner asked for; "stamped_numerics" the one the eval JSON's
    machine stamp says its process had (None for JSONs from before the stamp named it).
    """
    with open(runs_lib.eval_path(run_dir, report)) as f:
        result = json.load(f)
    return {"method": method, "seed": seed, "numerics": numerics,
            "stamped_numerics": (result.get("machine") or {}).get("numerics"),
            "miou": result["miou"],
            "per_class_iou": result["per_class_iou"], "seconds": seconds,
            "miou_by_split": miou_by_split(run_dir),
            "checkpoint_step": result["checkpoint_step"],
            "checkpoint_selection": result["checkpoint_selection"],
            # Which weights of F and C were scored; JSONs from before averaging: the raw.
            "weights": result.get("weights", "raw"),
            "segmenter_ema_decay": result.get("segmenter_ema_decay"),
            # Eval JSONs from before the stamp chose on no target split unless said so.
            "oracle": _oracle(result),
            "selection_split": result.get("selection_split", _chosen_on(result)),
            "trained_method": result.get("method"),
            "reads_target_labels": result.get("reads_target_labels")}


def summarize(runs):
    """Per method: mean and std of mIoU and of each class's IoU over its runs (seeds and
    numeric paths), the number of seeds and of runs, and the mIoU per numeric path and per
    evaluated split (`split_stat`: over the runs scored on that split)."""
    methods = {}
    for method in dict.fromkeys(run["method"] for run in runs):
        mine = [run for run in runs if run["method"] == method]
        classes = [name for name, value in mine[0]["per_class_iou"].items()
                   if value is not None]
        per_class = {
            name: mean_std([run["per_class_iou"][name] for run in mine]) for name in classes}
        # Every split any run was scored on: a split scored after training (the unseen
        # `procedural_streets/dusk`, scored run by run) may be missing from some runs.
        splits = dict.fromkeys(split for run in mine for split in run["miou_by_split"])
        paths = dict.fromkeys(run.get("numerics", DEFAULT_NUMERICS) for run in mine)
        methods[method] = {
            "miou": mean_std([run["miou"] for run in mine]),
            "per_class_iou": per_class,
            "num_seeds": len(set(run["seed"] for run in mine)), "num_runs": len(mine),
            "oracle": any_oracle(mine),
            "miou_by_numerics": {
                path: mean_std([run["miou"] for run in mine
                                if run.get("numerics", DEFAULT_NUMERICS) == path])
                for path in paths},
            "miou_by_split": {split: split_stat(mine, split) for split in splits}}
    return methods


def split_stat(runs, split):
    """mIoU mean and std on `split` over the runs scored on it, and how many those are.

    Args:
      runs: run records of one method.
      split: a "name:split" key of their "miou_by_split".

    Returns:
      {"mean", "std", "num_runs"}.
    """
    values = [run["miou_by_split"][split] for run in runs if split in run["miou_by_split"]]
    return {**mean_std(values), "num_runs": len(values)}


def checkpoint_lines(runs):
    """Which checkpoint each method's runs were scored at, seed by seed."""
    lines = ["Checkpoints scored (step per run, in run order):", ""]
    for method in dict.fromkeys(run["method"] for run in runs):
        mine = [run for run in runs if run["method"] == method]
        steps = ", ".join(str(run["checkpoint_step"]) for run in mine)
        oracle = {True: " — ORACLE: chosen on target labels",
                  None: " — not known to be label-free (evaluated before the oracle stamp)",
                  False: ""}[any_oracle(mine)]
        lines.append(f"- {method}: {steps} ({mine[0]['checkpoint_selection']}; "
                     f"{_weights_text(mine)}){oracle}")
    return "\n".join(lines) + "\n"


def _weights_text(runs):
    """Which weights of F and C a method's runs were scored with, e.g. "raw weights"."""
    texts = []
    for run in runs:
        weights = run.get("weights", "raw")
        text = (f"moving-average weights, decay {run.get('segmenter_ema_decay')}"
                if weights == "ema" else "raw weights")
        if text not in texts:
            texts.append(text)
    return " / ".join(texts)


def _oracle(result):
    """An eval JSON's "oracle"; for one written before that stamp, False for the last
    checkpoint and None (not known) for a checkpoint chosen on a split."""
    if "oracle" in result:
        return bool(result["oracle"])
    return False if result.get("checkpoint_selection", "last") == "last" else None


def _chosen_on(result):
    """The split of an unstamped "best mIoU on <split>" (or "tracked best ..."), or None."""
    _, sep, split = result.get("checkpoint_selection", "last").partition(" mIoU on ")
    return split if sep else None


def any_oracle(runs):
    """True when a run chose on target labels, else None when one may have (unstamped),
    else False."""
    values = [run.get("oracle", False) for run in runs]
    return True if True in values else (None if None in values else False)


def method_label(method, info):
    """A method's name in a table: "<method> (oracle)" when a run of it chose its
    checkpoint on target labels, "<method> (oracle?)" when one may have (`summarize`'s
    "oracle")."""
    return method + {True: " (oracle)", None: " (oracle?)", False: ""}[info.get("oracle",
                                                                               False)]


def oracle_runs(runs):
    """The runs whose checkpoint was chosen on target labels."""
    return [run for run in runs if run.get("oracle")]


def oracle_text(runs):
    """Markdown paragraphs naming the oracle runs (and those not known to be label-free)
    with their splits; "" when there is none."""
    text = ""
    for runs_of, head, what in (
            (oracle_runs(runs), "**Oracle checkpoint choice** "
             "(`checkpoint_selection.oracle = True`)",
             "chose their checkpoint on target labels ({}). Their numbers are not label-free "
             "adaptation results."),
            ([run for run in runs if run.get("oracle", False) is None],
             "**Checkpoint choice not known to be label-free**",
             "were evaluated before eval JSONs said whether their checkpoint was chosen on "
             "target labels ({}). Evaluate them again (`--mode=evaluate`) to know.")):
        if runs_of:
            names = "; ".join(f"{run['method']} seed {run['seed']} on "
                              f"{run.get('selection_split')}" for run in runs_of)
            text += f"{head}: {len(runs_of)} of {len(runs)} runs {what.format(names)}\n"
    return text


def miou_by_split(run_dir):
    """mIoU of every split the run evaluated (e.g. the source's validation split too)."""
    folder = os.path.join(run_dir, runs_lib.EVAL_DIR)
    scores = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            result = json.load(f)
        scores[f"{result['dataset']}:{result['split']}"] = result["miou"]
    return scores


# How the summaries' mean ± std is meant, said where they print it: the population std
# (numpy's default). The paired gains' std and interval use the sample std (n - 1).
STD_NOTE = "std with n in the denominator"


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
    lines = ["| class | " + " | ".join(method_label(m, methods[m]) for m in names) + " |",
             "|---|" + "---|" * len(names)]
    for name in classes:
        cells = [cell(methods[m]["per_class_iou"].get(name)) for m in names]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **mIoU** | " + " | ".join(
        f"**{cell(methods[m]['miou'])}**" for m in names) + " |")
    return "\n".join(lines) + "\n"


def t_quantile_975(df):
    """t_{0.975, df}: the table for df <= 30, else the Cornish-Fisher expansion around the
    normal quantile (within 1e-4 of the exact value there)."""
    if df < 1:
        raise ValueError(f"Degrees of freedom must be >= 1, not {df}.")
    if df <= len(T_975):
        return T_975[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def gain_stats(gains):
    """The gain over paired runs: mean, std, min, share positive and a 95% interval.

    The interval is the paired t interval over the n pairs: mean ± t_{0.975, n-1} * s /
    sqrt(n), s the sample std (n - 1 in the denominator). It treats the pairs as
    independent draws; runs of one seed on several numeric paths share their
    initialisation and data order, so with several paths it is narrower than the seeds
    alone would give, and it says how well the mean gain over these pairs is known, not
    where a single new run falls.

    Args:
      gains: one gain per pair (any unit).

    Returns:
      {"pairs", "mean", "std" (sample; None for one pair), "min", "positive_share",
      "ci95" ([low, high]; None for one pair)}; None when `gains` is empty.
    """
    values = np.asarray(gains, np.float64)
    n = len(values)
    if n == 0:
        return None
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else None
    half = t_quantile_975(n - 1) * std / math.sqrt(n) if n > 1 else None
    return {"pairs": n, "mean": mean, "std": std, "min": float(values.min()),
            "positive_share": float((values > 0).mean()),
            "ci95": None if half is None else [mean - half, mean + half]}


def paired_gains(runs, baseline=BASELINE):
    """Each method's mIoU gain over `baseline` on the same (seed, numeric path).

    Args:
      runs: run records.
      baseline: the method every other is compared with.

    Returns:
      method -> {"pairs": [{"seed", "numerics", "gain", "miou", "baseline_miou"}, ...],
      "stats": `gain_stats` of the gains}, for every method but `baseline` that shares
      at least one (seed, path) with it; {} when `baseline` was not run.
    """
    base = {(run["seed"], run.get("numerics", DEFAULT_NUMERICS)): run["miou"]
            for run in runs if run["method"] == baseline}
    result = {}
    for method in dict.fromkeys(run["method"] for run in runs):
        if method == baseline:
            continue
        pairs = []
        for run in runs:
            key = (run["seed"], run.get("numerics", DEFAULT_NUMERICS))
            if run["method"] == method and key in base:
                pairs.append({"seed": key[0], "numerics": key[1],
                              "gain": run["miou"] - base[key], "miou": run["miou"],
                              "baseline_miou": base[key]})
        if pairs:
            result[method] = {"pairs": pairs,
                              "stats": gain_stats([pair["gain"] for pair in pairs])}
    return result


def points(value):
    """A fraction as signed points of percent ("+6.4"), "-" for None."""
    return "-" if value is None else f"{100 * value:+.1f}"


def gain_text(gains, baseline=BASELINE):
    """Markdown: per method, the gain over `baseline` per (seed, path) and its stats."""
    blocks = []
    for method, info in gains.items():
        stats = info["stats"]
        lines = [f"{method} − {baseline}, mIoU points, per (seed, numeric path):", "",
                 f"| seed | numerics | {baseline} | {method} | gain |", "|---|---|---|---|---|"]
        lines += [f"| {pair['seed']} | {pair['numerics']} | {100 * pair['baseline_miou']:.1f}"
                  f" | {100 * pair['miou']:.1f} | {points(pair['gain'])} |"
                  for pair in info["pairs"]]
        interval = ("-" if stats["ci95"] is None else
                    f"[{points(stats['ci95'][0])}, {points(stats['ci95'][1])}]")
        std = "-" if stats["std"] is None else f"{100 * stats['std']:.1f}"
        lines += ["", f"Over the {stats['pairs']} pairs: mean {points(stats['mean'])}, std "
                  f"{std} (n − 1), min {points(stats['min'])}, {method} ahead in "
                  f"{100 * stats['positive_share']:.0f}%, paired 95% t interval {interval}.",
                  ""]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def runs_machine(numerics):
    """`machine.describe()` of this process, its "numerics" the runs' paths ("default,
    one_thread") and its "onednn" theirs: the runner itself is on one path, its runs on
    those. "onednn" is one state when every path has it, else {path: state}
    (`machine.onednn_on_path`)."""
    stamp = machine.describe()
    stamp["numerics"] = ", ".join(numerics)
    states = {path: machine.onednn_on_path(path) for path in numerics}
    stamp["onednn"] = (next(iter(states.values())) if len(set(states.values())) == 1
                       else states)
    return stamp


def numerics_mismatches(runs):
    """Runs whose machine stamp names another numeric path than the one asked for."""
    return [run for run in runs if run.get("stamped_numerics") is not None
            and run["stamped_numerics"] != run.get("numerics", DEFAULT_NUMERICS)]
