"""Trains and evaluates each (method, seed, numeric path); mean ± std and the paired gain.

  python scripts/seeds.py --gin_file=gin/demo.gin --methods=source_only,lsd --seeds=3 \
      --workdir=runs/seeds [--numerics=default,no_onednn,one_thread]  # or onednn
      [--seed_list=4,0]  # these seeds instead of 0 .. seeds-1
      [--summarize_only]  # no run: the summary of the finished ones, as they were scored

Each run is the real command line in its own process, so runs are independent and a
finished one is not trained again (it is evaluated again, with the gin file's checkpoint
rule; its wall time stays the training run's, `runners.SECONDS_FILE`). Its folder is
`DIR/<method>_seed<k>/` on the default numeric path and `DIR/<method>_seed<k>_<path>/` on
another. A numeric path is the environment of the run's process
(`machine.NUMERIC_PATHS`): `no_onednn` sets TF_ENABLE_ONEDNN_OPTS=0, `onednn`
TF_ENABLE_ONEDNN_OPTS=1, `one_thread` TF_NUM_INTRAOP_THREADS=1, `default` neither (both are
removed from the inherited environment). Float rounding differs along each, as it does
between CPUs, so one machine can measure the spread another CPU would bring. TensorFlow
turns oneDNN on by default only on CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX, so
beside `default` take `no_onednn` on those and `onednn` on others (e.g. AVX2 only); the
runner refuses the one that would repeat `default`.

The reported split is the first of the gin file's `evaluate.datasets` unless `--report`
names another. Writes `DIR/summary.json` and `DIR/summary.md`: per method, mean ± std per
class over all runs; per method, its gain over source_only on each (seed, path) and over
all of them (mean, std, min, share positive, paired 95% t interval; `summaries.gain_stats`).
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

FLAGS = flags.FLAGS


def _define_flags():
    """The command's flags; defined only when run as a program, so that tests can import
    this module beside other entry points (absl refuses one flag name from two modules)."""
    runners.define_flags()
    flags.DEFINE_list("methods", ["source_only", "lsd"], "Methods to compare.")
    flags.DEFINE_integer("seeds", 3, "Seeds per method: 0 .. seeds-1.")
    runners.define_seed_list_flags()
    flags.DEFINE_list("numerics", [summaries.DEFAULT_NUMERICS],
                      "Numeric paths each (method, seed) runs on, of "
                      + ", ".join(machine.NUMERIC_PATHS) + ".")


def command(method, seed, run_dir, gin_files, gin_bindings, data_dir=None):
    """The CLI command of one (method, seed): method, seed, shared files and bindings."""
    return runners.command(run_dir, gin_files, seed,
                           [f"build_model.method = '{method}'", *gin_bindings],
                           data_dir=data_dir)


# Shared with scripts/ablation.py.
seed_numbers = runners.seed_numbers
summarize = summaries.summarize
checkpoint_lines = summaries.checkpoint_lines
markdown_table = summaries.per_class_table
_cell = summaries.cell


def report_text(summary):
    """summary.md: the per-class table, the gains, every split, checkpoints, machine."""
    methods, records = summary["methods"], summary["runs"]
    splits = "".join(
        f"- {method}, {split}: {_cell(stat)}\n" for method, info in methods.items()
        for split, stat in info["miou_by_split"].items())
    paths = summary["numerics"]
    by_path = "".join(
        f"- {method}: " + "; ".join(f"{path} {_cell(stat)}"
                                    for path, stat in info["miou_by_numerics"].items()) + "\n"
        for method, info in methods.items()) if len(paths) > 1 else ""
    if by_path:
        by_path = (f"mIoU (%) per numeric path, mean ± std ({summaries.STD_NOTE}) over "
                   f"seeds:\n\n{by_path}\n")
    gains = summaries.gain_text(summary["gains"])
    mismatches = "".join(
        f"- {run['method']} seed {run['seed']}: asked for {run['numerics']}, its eval JSON's "
        f"machine stamp says {run['stamped_numerics']}\n"
        for run in summaries.numerics_mismatches(records))
    if mismatches:
        mismatches = f"Runs on another numeric path than asked for:\n\n{mismatches}\n"
    n, numbers = summary["seeds"], summary.get("seed_list")
    seed_text = f"{n} seed{'' if n == 1 else 's'}"
    if numbers and numbers != list(range(n)):
        seed_text += f" ({', '.join(str(seed) for seed in numbers)})"
    over = (f"{seed_text} × numeric paths {', '.join(paths)}" if len(paths) > 1
            else f"{seed_text} ({paths[0]} numerics)")
    oracle = summaries.oracle_text(records)
    left_out = runners.left_out_text(summary.get("left_out"))
    return (f"{oracle + chr(10) if oracle else ''}"
            f"IoU (%) on {summary['report']}, mean ± std ({summaries.STD_NOTE}) over "
            f"{over}\n\n"
            f"{markdown_table(methods)}\n"
            f"{gains + chr(10) if gains else ''}{by_path}{mismatches}{left_out}"
            f"mIoU (%) of every evaluated split:\n\n{splits}\n{checkpoint_lines(records)}\n"
            f"Machine: {machine.one_line(summary['machine'])}.\n")


def run(gin_files, workdir, methods=("source_only", "lsd"), seeds=3,
        numerics=(summaries.DEFAULT_NUMERICS,), gin_bindings=(), report=None,
        data_dir=None, run_fn=subprocess.run, seed_list=None, summarize_only=False):
    """Runs every (method, seed, numeric path) through the CLI, then writes the summary.

    Args:
      gin_files: gin files shared by every run.
      workdir: folder of the runs, summary.json and summary.md.
      methods: methods to compare.
      seeds: seeds per method, 0 .. seeds-1.
      numerics: numeric paths, keys of `machine.NUMERIC_PATHS`.
      gin_bindings: bindings shared by every run.
      report: "name:split" summarised; None for the first of `evaluate.datasets`.
      data_dir: TFDS data dir.
      run_fn: runs a command (`subprocess.run`; tests inject a fake); called with
        `check=True` and `env=` the path's environment.
      seed_list: the seeds to run instead of 0 .. seeds-1 (`seed_numbers`).
      summarize_only: run nothing; summarise the finished runs' eval JSONs as they are
        and leave out (and name) the runs not finished.

    Returns:
      The summary written to summary.json.

    Raises:
      ValueError: for an unknown numeric path or a bad seed list.
      errors.ConfigurationError: with `summarize_only`, when no run is finished.
    """
    numerics = list(numerics)
    machine.check_numerics(numerics)  # A typo fails before any training.
    seed_list = seed_numbers(seeds, seed_list)
    report, _ = runners.read_config(gin_files, gin_bindings, report)
    records, left_out = [], []
    for method in methods:
        for seed in seed_list:
            for path in numerics:
                run_dir = os.path.join(workdir, summaries.run_name(method, seed, path))
                line = command(method, seed, run_dir, gin_files, gin_bindings, data_dir)
                env = machine.numerics_env(path)
                label = runners.run_label(method, seed, path)
                finished = runners.is_finished(run_dir, report, method)
                if summarize_only:
                    if not finished:
                        left_out.append(label)
                        print(f"{label}: not finished, left out", flush=True)
                        continue
                    # Otherwise read as it was scored: no evaluation.
                elif finished:
                    # Scored again (the checkpoint rule may have changed since); the run's
                    # time stays the one kept when it trained, not this evaluation's.
                    run_fn(line, check=True, env=env)
                else:
                    runners.run_timed(line, run_dir, run_fn, env)
                seconds = runners.seconds(run_dir)  # None for runs from before it was kept.
                record = summaries.run_record(method, seed, run_dir, report, seconds, path)
                records.append(record)
                took = "time not kept" if seconds is None else f"{seconds:.0f} s"
                print(f"{label}: mIoU {100 * record['miou']:.1f} at "
                      f"step {record['checkpoint_step']} ({took})", flush=True)
    # The seeds the summary covers: all asked for, less any left out whole.
    covered = runners.covered_seeds(seed_list, records, workdir)
    summary = {"report": report, "gin_files": list(gin_files),
               "gin_bindings": list(gin_bindings), "seeds": len(covered),
               "seed_list": covered, "numerics": numerics,
               "runs": records, "methods": summarize(records),
               "gains": summaries.paired_gains(records),
               "oracle": summaries.any_oracle(records), "left_out": left_out,
               "machine": summaries.runs_machine(numerics)}
    print(runners.write_summary(workdir, "summary", summary, report_text(summary)))
    return summary


def main(argv):
    del argv
    try:
        machine.check_numerics(FLAGS.numerics)
        seed_numbers(FLAGS.seeds, FLAGS.seed_list)
    except ValueError as error:  # A typo in --numerics or --seed_list: usage, no traceback.
        raise app.UsageError(str(error)) from error
    with user_errors.exit_in_one_line():
        run(FLAGS.gin_file, FLAGS.workdir, FLAGS.methods, FLAGS.seeds, FLAGS.numerics,
            FLAGS.gin_bindings, FLAGS.report, FLAGS.data_dir, seed_list=FLAGS.seed_list,
            summarize_only=FLAGS.summarize_only)


if __name__ == "__main__":
    _define_flags()
    app.run(main)
