"""Paper Section 5.4 / Figure 4 as a command: cross-domain retrieval on trained runs.

  python scripts/retrieval.py --workdir=runs/ablation/source_only_seed0,runs/ablation/lsd_seed0
  python scripts/retrieval.py --workdir=DIR1,DIR2,... --layer=pool4 --group_by_method
  python scripts/retrieval.py --workdir=DIR --layer=image --after_generator

For each run (`--workdir`, comma-separated): the model is rebuilt from the run's
operative_config.gin, and the checkpoint its evaluation scored (the step in
checkpoint_selection.json; the newest checkpoint when the run was never evaluated) is
restored. Every image is resized to the run's eval size (`segmenter.eval_size`) and
described by a layer of F average-pooled over space (`--layer`, fc7 by default, as the
paper; `gta_keras/retrieval.py` says how and defines |A_k|, |B_k| and mAP). F holds the
weights evaluation scored: the moving average of F and C when the run keeps one
(`evaluate.weights` in its config chooses); with `--after_generator`, the training weights
G was trained against. The JSON says which ("weights").

Which images, per domain (the run's `make_train_dataset.source` and `.target`): the pool is
the first `--pool_size` images of `--split` (train); the queries are the next
`--query_size` images of that split, or of `--query_split` (from `--query_start`). The paper
uses 1000 + 1000 pool images and 1000 queries per domain, from the training sets: the
defaults, which the demo pair's 2000 training frames per domain hold exactly.

Writes, into `--output_dir` (default: the folder the runs share; the run itself for one):
`retrieval_<layer>[_after_generator].json` (per run: |A_k| and |B_k| for k = 1..K, mAP both
ways, chance levels, sizes, checkpoint, method, seed; per method: mean and std over its
runs; the layer; the machine) and a `.png` laid out as Figure 4: (a) Target -> Source,
|B_k| vs k; (b) Source -> Target, |A_k| vs k; one curve per run (per method, mean ± std,
with `--group_by_method`), the level of identical domains dashed. See docs/retrieval.md.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import collections
import json
import os
import sys

from absl import app
from absl import flags
import gin
import keras
import numpy as np

from gta_keras import averaging
from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import machine
from gta_keras import retrieval
from gta_keras import runs
from gta_keras.data import pipeline

# What the JSON says mAP is (the paper does not define it).
MAP_DEFINITION = (
    "For a source query the relevant items are the pool's target images (for a target "
    "query, its source images); the query ranks the whole pool by cosine similarity; its "
    "average precision is the mean, over the relevant items, of the precision at each "
    "one's rank; mAP is the mean over the queries. The paper reports mAP without defining "
    "it.")
# k values the printed summary shows (those up to k_max).
SUMMARY_KS = (1, 10, 50, 100)

FLAGS = flags.FLAGS


def _define_flags():
    """The command's flags; defined only when run as a program, so that tests can import
    this module beside others that define --workdir (absl refuses a flag name twice)."""
    flags.DEFINE_list("workdir", None, "Run folders, comma-separated.")
    flags.DEFINE_enum("layer", "fc7", retrieval.LAYERS,
                      "What is average-pooled: a layer of F, or the image's pixels.")
    flags.DEFINE_bool("after_generator", False,
                      "Describe G's reconstruction G(F(x)) instead of x (runs with G only).")
    flags.DEFINE_integer("pool_size", 1000, "Pool images per domain (N_src = N_tgt).")
    flags.DEFINE_integer("query_size", 1000, "Query images per domain (|Q_S| = |Q_T|).")
    flags.DEFINE_string("split", "train", "Split the pool (and the queries) come from.")
    flags.DEFINE_string("query_split", None, "Split of the queries; default --split.")
    flags.DEFINE_integer("query_start", None,
                         "Index of the first query in its split; default right after the "
                         "pool (same split) or 0.")
    flags.DEFINE_integer("k_max", 100, "Largest k of |A_k| and |B_k|.")
    flags.DEFINE_integer("batch_size", 50, "Images per forward pass.")
    flags.DEFINE_bool("group_by_method", False,
                      "Plot one curve per method (mean ± std over its runs) instead of "
                      "one per run.")
    flags.DEFINE_string("output_dir", None,
                        "Folder of the JSON and PNG; default the runs' common folder.")
    flags.DEFINE_string("data_dir", None, "TFDS data dir.")
    flags.DEFINE_string("manual_dir", None, "Folder of manual downloads.")
    flags.mark_flag_as_required("workdir")


# ---------------------------------------------------------------------------------------
# A run: its model at the evaluated checkpoint.


def load_run(workdir):
    """Rebuilds a run's model from its operative config and restores its evaluated
    checkpoint.

    Returns:
      (model, info): info holds "workdir", "method", "seed", "source", "target",
      "eval_size", "checkpoint_step" and "checkpoint_selection".

    Raises:
      FileNotFoundError: no such folder, or no operative_config.gin in it.
      checkpoints.CheckpointNotFoundError: no checkpoint, or not the evaluated one.
    """
    config = runs.operative_config_path(workdir)
    if not os.path.isfile(config):
        raise FileNotFoundError(
            f"{config} does not exist: --workdir must name trained runs (each holds the "
            "operative_config.gin its training wrote).")
    gin.clear_config()
    keras.backend.clear_session()  # Runs are loaded one after another in one process.
    configurables.parse_gin([config])
    model, checkpointer = experiment.restore(workdir)
    selection = restore_evaluated(checkpointer, workdir)
    info = {
        "workdir": workdir,
        "method": model.method,
        "seed": _bound("train.seed", 0),
        "source": gin.query_parameter("make_train_dataset.source"),
        "target": gin.query_parameter("make_train_dataset.target"),
        "eval_size": list(model.eval_size) if model.eval_size else None,
        "checkpoint_step": checkpointer.step,
        "checkpoint_selection": selection,
    }
    return model, info


def restore_evaluated(checkpointer, workdir):
    """Restores the checkpoint the run's evaluation scored (checkpoint_selection.json).

    The step is looked for among the kept checkpoints, then in best_checkpoint/ (rule
    "tracked_best"). A run never evaluated has no record: its newest checkpoint, which
    `checkpointer` holds already, is used, as evaluation's default rule "last" would.

    Args:
      checkpointer: the run's `Checkpointer`, its newest checkpoint restored.
      workdir: the run's folder.

    Returns:
      The selection record without its per-checkpoint scores (rule, step, and whatever
      else evaluation recorded, e.g. whether the choice was an oracle's), or
      {"rule": "last", "note": ...} without a record.

    Raises:
      checkpoints.CheckpointNotFoundError: the recorded step is no longer kept.
    """
    path = runs.selection_path(workdir)
    if not os.path.exists(path):
        return {"rule": "last", "selected_step": checkpointer.step,
                "note": "no checkpoint_selection.json (the run was not evaluated): its "
                        "newest checkpoint"}
    with open(path) as f:
        record = json.load(f)
    step = int(record["selected_step"])
    kept = [checkpointer]
    best_dir = checkpoints.best_checkpoint_directory(workdir)
    if os.path.isdir(best_dir):
        kept.append(checkpointer.sibling(best_dir))
    for candidate in kept:
        for checkpoint in candidate.paths:
            if checkpoints.step_of(checkpoint) == step:
                if checkpointer.step != step:
                    candidate.restore(checkpoint)
                return {key: value for key, value in record.items() if key != "scores"}
    steps = sorted(checkpoints.step_of(p) for c in kept for p in c.paths)
    raise checkpoints.CheckpointNotFoundError(
        f"{path} says the checkpoint of step {step} was evaluated, but {workdir} keeps only "
        f"steps {steps}. Evaluate the run again (python -m gta_keras.main --mode=evaluate "
        f"--workdir={workdir} --gin_file={runs.operative_config_path(workdir)}) so that it "
        "selects a kept checkpoint.")


def _bound(parameter, default):
    try:
        return gin.query_parameter(parameter)
    except ValueError:
        return default


# ---------------------------------------------------------------------------------------
# The protocol on one run.


def split_size(name, split, data_dir=None, manual_dir=None):
    """Images in `split` of dataset `name` (prepared if needed).

    Raises:
      retrieval.ProtocolError: the dataset has no such split; the message lists them.
    """
    splits = pipeline.prepare_split(name, data_dir, manual_dir).info.splits
    if split not in splits:
        known = ", ".join(f"{key} ({info.num_examples})" for key, info in splits.items())
        raise retrieval.ProtocolError(f"{name!r} has no split {split!r}; it has {known}.")
    return splits[split].num_examples


def plan(info, pool_size, query_size, split="train", query_split=None, query_start=None,
         data_dir=None, manual_dir=None):
    """The TFDS slices of each domain's pool and queries for one run, checked.

    Returns:
      {"source": {"dataset", "pool", "queries"}, "target": {...}}, slices as
      "train[0:1000]".

    Raises:
      retrieval.ProtocolError: sizes that do not fit the splits, or overlapping sets.
    """
    query_split = query_split or split
    same = query_split == split
    slices = {}
    for domain in ("source", "target"):
        name = info[domain]
        pool, queries = retrieval.layout(
            split_size(name, split, data_dir, manual_dir), pool_size, query_size,
            query_start, same,
            None if same else split_size(name, query_split, data_dir, manual_dir), domain)
        slices[domain] = {"dataset": name, "pool": retrieval.slice_spec(split, *pool),
                          "queries": retrieval.slice_spec(query_split, *queries)}
    return slices


def run_one(workdir, layer="fc7", after_generator=False, k_max=100, batch_size=50,
            data_dir=None, manual_dir=None, **plan_kwargs):
    """Retrieval on one run; returns its JSON record (`retrieval.retrieve`'s dict plus
    the run's info, the slices read, the descriptors' width and how many were all zero)."""
    model, info = load_run(workdir)
    retrieval.check_layer(layer, after_generator, model.generator is not None)
    slices = plan(info, data_dir=data_dir, manual_dir=manual_dir, **plan_kwargs)
    size = tuple(info["eval_size"]) if info["eval_size"] else None
    # F as evaluated; G after F only ever saw the training weights.
    info["weights"] = "raw" if after_generator else experiment.scored_weights(model)
    sets = {}
    with averaging.weights_in(model, info["weights"]):
        for domain, spec in slices.items():
            for role in ("pool", "queries"):
                sets[domain, role] = retrieval.split_descriptors(
                    model, spec["dataset"], spec[role], layer, after_generator, size,
                    batch_size, data_dir, manual_dir)
    result = retrieval.retrieve(sets["source", "queries"], sets["target", "queries"],
                                sets["source", "pool"], sets["target", "pool"], k_max)
    stacked = np.concatenate(list(sets.values()))
    result.update(info, slices=slices, descriptor_dims=int(stacked.shape[1]),
                  # All-zero descriptors rank by the tie-break alone: worth knowing.
                  zero_descriptors=int(np.sum(~stacked.any(axis=1))))
    return result


# ---------------------------------------------------------------------------------------
# Several runs: summary, JSON, figure.


def label_runs(records):
    """Sets each record's "label": "<method> seed <k>", plus the folder when two agree."""
    counts = collections.Counter((r["method"], r["seed"]) for r in records)
    for record in records:
        label = f"{record['method']} seed {record['seed']}"
        if counts[record["method"], record["seed"]] > 1:
            label += f" ({os.path.basename(os.path.normpath(record['workdir']))})"
        record["label"] = label
    return records


def summarize_methods(records):
    """Per method, in first-seen order: number of runs, and mean and std (population,
    over its runs) of a_k, b_k and both mAPs."""
    by_method = collections.defaultdict(list)
    for record in records:
        by_method[record["method"]].append(record)
    summary = {}
    for method, group in by_method.items():
        entry = {"num_runs": len(group), "workdirs": [r["workdir"] for r in group]}
        for key in ("a_k", "b_k", "map_source_to_target", "map_target_to_source"):
            values = np.array([r[key] for r in group], np.float64)
            entry[key] = {"mean": values.mean(axis=0).tolist(),
                          "std": values.std(axis=0).tolist()}
        summary[method] = entry
    return summary


def output_names(layer, after_generator):
    """(json, png) file names of one layer's results."""
    stem = f"retrieval_{layer}" + ("_after_generator" if after_generator else "")
    return stem + ".json", stem + ".png"


def default_output_dir(workdirs):
    """The run itself for one run, else the folder the runs share."""
    paths = [os.path.abspath(w) for w in workdirs]
    if len(paths) == 1:
        return paths[0]
    return os.path.commonpath([os.path.dirname(p) for p in paths])


def describe_descriptor(layer, after_generator):
    """What one descriptor is, in words, for the JSON and the figure."""
    what = "mean colour (RGB in [0, 1])" if layer == "image" else (
        f"F's {layer}, average-pooled over space")
    if after_generator:
        what += " of G's reconstruction G(F(x))"
    return what


def plot(summary, path, group_by_method=False):
    """Writes Figure 4's layout: (a) Target -> Source |B_k|, (b) Source -> Target |A_k|.

    One curve per run ("<method> seed <k>", mAP in the legend), or per method (mean, a
    band of ± std) with `group_by_method`; dashed: identical domains (k N_other / N).
    """
    import matplotlib  # pylint: disable=import-outside-toplevel  (only the command draws)
    matplotlib.use("Agg")  # No display: write files only.
    from matplotlib import pyplot  # pylint: disable=import-outside-toplevel

    records = summary["runs"]
    k = np.arange(1, summary["k_max"] + 1)
    colours = {method: f"C{i}" for i, method in enumerate(summary["methods"])}
    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    panels = (("b_k", "map_target_to_source", "(a) Target → Source, $|B_k|$ vs $k$"),
              ("a_k", "map_source_to_target", "(b) Source → Target, $|A_k|$ vs $k$"))
    for axis, (key, map_key, title) in zip(axes, panels):
        if group_by_method:
            for method, entry in summary["methods"].items():
                mean, std = np.array(entry[key]["mean"]), np.array(entry[key]["std"])
                mean_ap = entry[map_key]
                axis.plot(k, mean, color=colours[method],
                          label=f"{method}, {_runs(entry['num_runs'])} (mAP "
                                f"{mean_ap['mean']:.3f} ± {mean_ap['std']:.3f})")
                axis.fill_between(k, mean - std, mean + std, color=colours[method],
                                  alpha=0.2, linewidth=0)
        else:
            styles = collections.defaultdict(lambda: iter(("-", "--", ":", "-.") * 100))
            for record in records:
                axis.plot(k, record[key], color=colours[record["method"]],
                          linestyle=next(styles[record["method"]]),
                          label=f"{record['label']} (mAP {record[map_key]:.3f})")
        axis.plot(k, records[0]["chance"][key], color="grey", linestyle=(0, (2, 2)),
                  linewidth=1, label="identical domains")
        axis.set(title=title, xlabel="$k$",
                 ylabel="cross-domain items among the $k$ nearest")
        axis.set_xlim(1, k[-1])
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle(f"Cross-domain retrieval: {summary['descriptor']}; pool "
                    f"{summary['sizes']['pool_source']} + {summary['sizes']['pool_target']}"
                    f", queries {summary['sizes']['queries_source']} + "
                    f"{summary['sizes']['queries_target']}", fontsize=9)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def _runs(count):
    return f"{count} run" + ("" if count == 1 else "s")


def summary_text(summary):
    """A few lines per run: mAP both ways and |A_k|, |B_k| at a few k."""
    ks = [k for k in SUMMARY_KS if k <= summary["k_max"]]
    chance = summary["runs"][0]["chance"]
    head = ("run | mAP S→T | mAP T→S | " + " | ".join(f"|A_{k}|" for k in ks) + " | "
            + " | ".join(f"|B_{k}|" for k in ks))
    lines = [f"Cross-domain retrieval, {summary['descriptor']}", head]
    rows = [(r["label"], r) for r in summary["runs"]]
    rows.append(("identical domains", chance))
    for name, r in rows:
        lines.append(f"{name} | {r['map_source_to_target']:.3f} | "
                     f"{r['map_target_to_source']:.3f} | "
                     + " | ".join(f"{r['a_k'][k - 1]:.2f}" for k in ks) + " | "
                     + " | ".join(f"{r['b_k'][k - 1]:.2f}" for k in ks))
    return "\n".join(lines) + "\n"


def run(workdirs, layer="fc7", after_generator=False, pool_size=1000, query_size=1000,
        split="train", query_split=None, query_start=None, k_max=100, batch_size=50,
        group_by_method=False, output_dir=None, data_dir=None, manual_dir=None):
    """Retrieval on every run; writes the JSON and the figure; returns the summary.

    Args: the command's flags (see the module doc); `workdirs` a list of run folders.

    Raises:
      retrieval.ProtocolError: a bad layer, sizes that do not fit, overlapping sets.
      FileNotFoundError: a folder that is not a trained run.
    """
    if not workdirs:
        raise retrieval.ProtocolError("Give at least one run folder (--workdir).")
    retrieval.check_layer(layer)  # Before any model is built.
    if not 1 <= k_max <= 2 * pool_size:
        raise retrieval.ProtocolError(
            f"--k_max={k_max} must be between 1 and the pool's {2 * pool_size} images "
            f"(--pool_size={pool_size} per domain).")
    records = []
    for workdir in workdirs:
        records.append(run_one(
            workdir, layer, after_generator, k_max, batch_size, data_dir, manual_dir,
            pool_size=pool_size, query_size=query_size, split=split,
            query_split=query_split, query_start=query_start))
        print(f"{workdir}: {records[-1]['method']}, checkpoint step "
              f"{records[-1]['checkpoint_step']}", flush=True)
    label_runs(records)
    summary = {
        "layer": layer,
        "after_generator": after_generator,
        "descriptor": describe_descriptor(layer, after_generator),
        "k_max": k_max,
        "sizes": records[0]["sizes"],
        "map_definition": MAP_DEFINITION,
        "runs": records,
        "methods": summarize_methods(records),
        "machine": machine.describe(),
    }
    output_dir = output_dir or default_output_dir(workdirs)
    json_name, png_name = output_names(layer, after_generator)
    os.makedirs(output_dir, exist_ok=True)
    json_path = os.path.join(output_dir, json_name)
    with open(json_path, "w") as f:
        json.dump(summary, f, indent=2)
    png_path = os.path.join(output_dir, png_name)
    plot(summary, png_path, group_by_method)
    print(summary_text(summary) + f"Wrote {json_path}\nWrote {png_path}", flush=True)
    return summary


def main(argv):
    del argv
    try:
        run(FLAGS.workdir, FLAGS.layer, FLAGS.after_generator, FLAGS.pool_size,
            FLAGS.query_size, FLAGS.split, FLAGS.query_split, FLAGS.query_start,
            FLAGS.k_max, FLAGS.batch_size, FLAGS.group_by_method, FLAGS.output_dir,
            FLAGS.data_dir, FLAGS.manual_dir)
    except (retrieval.ProtocolError, FileNotFoundError, pipeline.DatasetUnavailableError,
            checkpoints.CheckpointMismatchError, checkpoints.CorruptCheckpointError) as error:
        # What is wrong and what to do, without a traceback (as gta_keras.main).
        sys.exit(f"retrieval: {error}")


if __name__ == "__main__":
    _define_flags()
    app.run(main)
