"""Paper Table 4 as a command: every method with equal steps, data and seeds, gap closed.

  python scripts/ablation.py --gin_file=gin/demo.gin --seeds=3 --workdir=runs/ablation \
      [--numerics=default,no_onednn,one_thread]  # or onednn: scripts/seeds.py says which
      [--seed_list=4,0]  # these seeds instead of 0 .. seeds-1
      [--summarize_only]  # no run: the table of the finished ones

Each (method, seed) is the real command line in its own process, in `DIR/<method>_seed<k>/`,
with the shared gin files, then the method's layer `gin/ablations/<method>.gin` (which binds
nothing but the method, and for target_only the labelled domain), then `train.seed = k` and
the shared `--gin_bindings`: so every method gets the same steps, data, sizes and seeds.
A (method, seed) whose eval JSON for the reported split exists is finished and not run
again; one that stopped part way resumes from its last checkpoint (the CLI resumes).
With `--numerics`, every (method, seed) runs once per numeric path, the environment of its
process (`machine.NUMERIC_PATHS`, as in scripts/seeds.py), in `DIR/<method>_seed<k>_<path>/`
off the default path. `--seed_list` runs the given seeds in its order instead (lanes side
by side in one DIR); `--summarize_only` runs nothing and writes the table from the finished
runs, naming those left out (as in scripts/seeds.py).

Writes `DIR/ablation.json` (every run, mean ± std per method, gap closed) and
`DIR/ablation.md`: a Table-4-style table of mIoU mean ± std per method and each method's gap
closed, (method - source_only) / (target_only - source_only), from the means. The reported
split is the first of the gin file's `evaluate.datasets` unless `--report` names another.
Each method's gain over source_only on the same (seed, path) is in ablation.json ("gains":
mean, std, min, share positive, paired 95% t interval; `summaries.gain_stats`) and below the
table. See docs/ablations.md.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import os
import subprocess

from absl import app
from absl import flags

from gta_keras import experiment  # pylint: disable=unused-import  (registers configurables)
from gta_keras import machine
from gta_keras import runners
from gta_keras import summaries
from gta_keras import user_errors
from gta_keras.models import adaptation_model

# Table 4's rows in its order, then the bound.
ORDER = ("source_only", "feature_d", "global_d", "no_aux", "lsd", "target_only")
ROW_NAMES = {
    "source_only": "Source-only",
    "feature_d": "Feature space based D",
    "global_d": "Ours w/o Patch discriminator",
    "no_aux": "Ours w/o auxiliary loss (α = 0)",
    "lsd": "Ours (full)",
    "target_only": "Target-only (upper bound)",
}
# Table 4, SYNTHIA -> Cityscapes at 640x320, mIoU (%); no target-only row there.
PAPER_TABLE_4 = {"source_only": 22.2, "feature_d": 25.3, "global_d": 28.3,
                 "no_aux": 29.2, "lsd": 34.5}

FLAGS = flags.FLAGS


def _define_flags():
    """The command's flags; defined only when run as a program, so that tests can import
    this module beside scripts/seeds.py (absl refuses one flag name from two modules)."""
    runners.define_flags()
    flags.DEFINE_list("methods", list(ORDER),
                      "Methods to run, of " + ", ".join(ORDER) + ".")
    flags.DEFINE_integer("seeds", 3, "Seeds per method: 0 .. seeds-1.")
    runners.define_seed_list_flags()
    flags.DEFINE_list("numerics", [summaries.DEFAULT_NUMERICS],
                      "Numeric paths each (method, seed) runs on, of "
                      + ", ".join(machine.NUMERIC_PATHS) + ".")


# Shared with scripts/image_size.py (gta_keras/runners.py).
layer_path = runners.layer_path
is_finished = runners.is_finished


def command(method, seed, run_dir, gin_files, gin_bindings, data_dir=None):
    """The CLI command of one (method, seed): shared files, the layer, seed, bindings."""
    return runners.command(run_dir, gin_files, seed, gin_bindings, layer_path(method),
                           data_dir)


def gap_closed(methods):
    """(method - source_only) / (target_only - source_only) of the mean mIoUs.

    Returns:
      method -> fraction, or None for every method when source_only or target_only is
      missing or the bound is not above source_only (the gap is then undefined).
    """
    try:
        low = methods["source_only"]["miou"]["mean"]
        high = methods["target_only"]["miou"]["mean"]
    except KeyError:
        return {name: None for name in methods}
    if not high > low:
        return {name: None for name in methods}
    return {name: (info["miou"]["mean"] - low) / (high - low)
            for name, info in methods.items()}


def paper_order_holds(methods):
    """Whether the means order as the paper's: source-only < feature D < no patch < no aux
    < full; None when a method of that chain is missing."""
    chain = [name for name in ORDER if name in PAPER_TABLE_4]
    if not all(name in methods for name in chain):
        return None
    means = [methods[name]["miou"]["mean"] for name in chain]
    return all(a < b for a, b in zip(means, means[1:]))


def markdown_table(methods, gaps):
    """Table 4's rows (of the methods run): mIoU mean ± std, gap closed, the paper's."""
    lines = ["| method | mIoU (%) | gap closed | runs | paper (SYNTHIA→Cityscapes) |",
             "|---|---|---|---|---|"]
    for name in sorted(methods, key=_rank):
        gap = gaps.get(name)
        gap_text = "-" if gap is None else f"{100 * gap:.0f}%"
        paper = PAPER_TABLE_4.get(name)
        mark = summaries.method_label("", methods[name]).strip()  # "(oracle)", "(oracle?)"
        oracle = f" **{mark}**" if mark else ""
        lines.append(f"| {ROW_NAMES.get(name, name)} (`{name}`){oracle} | "
                     f"{summaries.cell(methods[name]['miou'])} | {gap_text} | "
                     f"{methods[name].get('num_runs', methods[name]['num_seeds'])} | "
                     f"{'-' if paper is None else f'{paper:.1f}'} |")
    return "\n".join(lines) + "\n"


def report_text(summary):
    """ablation.md: the table, what each row is, the order check, splits and times."""
    methods, gaps = summary["methods"], summary["gap_closed"]
    order = summary["paper_order_holds"]
    order_text = {True: "yes", False: "no", None: "not all of its methods were run"}[order]
    rows = "".join(f"- `{name}`: {adaptation_model.METHOD_DESCRIPTIONS.get(name, '')}\n"
                   for name in sorted(methods, key=_rank))
    splits = "".join(
        f"- {name}, {split}: {summaries.cell(stat)}\n"
        for name, info in sorted(methods.items(), key=lambda item: _rank(item[0]))
        for split, stat in info["miou_by_split"].items())
    seconds = "".join(
        f"- {name}: {info['seconds']:.0f} s per run\n"
        for name, info in sorted(methods.items(), key=lambda item: _rank(item[0]))
        if info.get("seconds") is not None)
    paths = summary.get("numerics", [summaries.DEFAULT_NUMERICS])
    gains = summaries.gain_text(summary.get("gains", {}))
    oracle = summaries.oracle_text(summary["runs"])
    return (f"{oracle + chr(10) if oracle else ''}"
            f"mIoU (%) on {summary['report']}, mean ± std ({summaries.STD_NOTE}) over seeds "
            f"{', '.join(str(s) for s in summary['seeds'])} × numeric paths "
            f"{', '.join(paths)}; gap closed = (method − "
            f"source_only) / (target_only − source_only), from the means.\n\n"
            f"{markdown_table(methods, gaps)}\n{gains + chr(10) if gains else ''}"
            f"{runners.left_out_text(summary.get('left_out'))}"
            f"Orders as the paper's Table 4 (source-only < feature D < no patch < no aux < "
            f"full): {order_text}.\n\nMethods:\n\n{rows}\n"
            f"Shared gin files: {', '.join(summary['gin_files']) or '-'}; bindings: "
            f"{'; '.join(summary['gin_bindings']) or '-'}.\n\n"
            f"mIoU (%) of every evaluated split:\n\n{splits}\n"
            f"{summaries.checkpoint_lines(summary['runs'])}\n"
            f"Wall time of training, evaluation and export (mean over seeds):\n\n{seconds or '-'}\n"
            f"Machine: {machine.one_line(summary['machine'])}.\n")


def summarize(records, report, seeds, gin_files=(), gin_bindings=(),
              numerics=(summaries.DEFAULT_NUMERICS,), left_out=()):
    """The ablation.json content from the run records (`summaries.run_record`); `left_out`
    names the runs --summarize_only left out."""
    methods = summaries.summarize(records)
    for name, info in methods.items():
        times = [r["seconds"] for r in records if r["method"] == name and r.get("seconds")]
        info["seconds"] = sum(times) / len(times) if times else None
        info["description"] = adaptation_model.METHOD_DESCRIPTIONS.get(name)
        info["reads_target_labels"] = any(r.get("reads_target_labels") for r in records
                                          if r["method"] == name)
    return {"report": report, "seeds": list(seeds), "numerics": list(numerics),
            "gin_files": list(gin_files), "gin_bindings": list(gin_bindings),
            "runs": records, "methods": methods, "gains": summaries.paired_gains(records),
            "gap_closed": gap_closed(methods), "paper_order_holds": paper_order_holds(methods),
            "paper_table_4": PAPER_TABLE_4, "oracle": summaries.any_oracle(records),
            "left_out": list(left_out), "machine": summaries.runs_machine(numerics)}


def write(summary, workdir):
    """Writes DIR/ablation.json and DIR/ablation.md; returns the markdown."""
    return runners.write_summary(workdir, "ablation", summary, report_text(summary))


def _rank(method):
    return ORDER.index(method) if method in ORDER else len(ORDER)


def run(gin_files, workdir, seeds=3, methods=ORDER, gin_bindings=(), report=None,
        data_dir=None, run_fn=subprocess.run, numerics=(summaries.DEFAULT_NUMERICS,),
        seed_list=None, summarize_only=False):
    """Trains and evaluates each unfinished (method, seed), then writes the table.

    Args:
      gin_files: gin files shared by every run.
      workdir: folder of the runs, ablation.json and ablation.md.
      seeds: seeds per method, 0 .. seeds-1.
      methods: methods to run (any of `ORDER`).
      gin_bindings: bindings shared by every run.
      report: "name:split" of the table; None for the first of `evaluate.datasets`.
      data_dir: TFDS data dir.
      run_fn: runs a command (`subprocess.run`; tests inject a fake); called with
        `check=True` and `env=` the numeric path's environment.
      numerics: numeric paths, keys of `machine.NUMERIC_PATHS`.
      seed_list: the seeds to run instead of 0 .. seeds-1 (`runners.seed_numbers`).
      summarize_only: run nothing; tabulate the finished runs and leave out (and name)
        the others.

    Returns:
      The summary written to ablation.json.

    Raises:
      ValueError: for an unknown method, numeric path or bad seed list.
      errors.ConfigurationError: with `summarize_only`, when no run is finished.
    """
    unknown = [m for m in methods if m not in adaptation_model.METHODS]
    if unknown:
        raise ValueError(f"Unknown methods {unknown}; use any of {ORDER}.")
    numerics = list(numerics)
    machine.check_numerics(numerics)
    seed_list = runners.seed_numbers(seeds, seed_list)
    report, _ = runners.read_config(gin_files, gin_bindings, report)
    records, left_out = [], []
    for method in methods:
        for seed in seed_list:
            for path in numerics:
                record = _run_one(method, seed, path, workdir, report, gin_files,
                                  gin_bindings, data_dir, run_fn, summarize_only)
                if record is None:
                    left_out.append(runners.run_label(method, seed, path))
                else:
                    records.append(record)
    covered = runners.covered_seeds(seed_list, records, workdir)
    summary = summarize(records, report, covered, gin_files, gin_bindings, numerics,
                        left_out)
    print(write(summary, workdir))
    return summary


def _run_one(method, seed, path, workdir, report, gin_files, gin_bindings, data_dir,
             run_fn, summarize_only=False):
    """Runs one (method, seed, numeric path) unless finished; returns its record (None
    when `summarize_only` and it is not finished)."""
    run_dir = os.path.join(workdir, summaries.run_name(method, seed, path))
    label = runners.run_label(method, seed, path)
    if is_finished(run_dir, report, method):
        print(f"{label}: finished, not run again", flush=True)
    elif summarize_only:
        print(f"{label}: not finished, left out", flush=True)
        return None
    else:
        runners.run_timed(command(method, seed, run_dir, gin_files, gin_bindings, data_dir),
                          run_dir, run_fn, machine.numerics_env(path))
    record = summaries.run_record(method, seed, run_dir, report, runners.seconds(run_dir),
                                  path)
    print(f"{label}: mIoU {100 * record['miou']:.1f} at step {record['checkpoint_step']}",
          flush=True)
    return record


def main(argv):
    del argv
    try:
        machine.check_numerics(FLAGS.numerics)
        runners.seed_numbers(FLAGS.seeds, FLAGS.seed_list)
    except ValueError as error:  # A typo in --numerics or --seed_list: usage, no traceback.
        raise app.UsageError(str(error)) from error
    with user_errors.exit_in_one_line():
        run(FLAGS.gin_file, FLAGS.workdir, FLAGS.seeds, FLAGS.methods, FLAGS.gin_bindings,
            FLAGS.report, FLAGS.data_dir, numerics=FLAGS.numerics,
            seed_list=FLAGS.seed_list, summarize_only=FLAGS.summarize_only)


if __name__ == "__main__":
    _define_flags()
    app.run(main)
