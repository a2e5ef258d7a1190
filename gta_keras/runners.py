"""What the experiment runners share: scripts/seeds.py, ablation.py and image_size.py.

Each run of a runner is the real command line (`python -m gta_keras.main`) in its own
process and folder, so runs are independent; a run whose eval JSON for the reported split
exists is finished and not run again, one that stopped part way resumes from its last
checkpoint (the command line resumes). Each run's wall time is kept beside it
(`SECONDS_FILE`), so that a resumed invocation still reports it.
"""

import json
import os
import sys
import time

from absl import flags
import gin

from gta_keras import errors
from gta_keras import runs
from gta_keras import selection
from gta_keras import user_errors

# The gin layers that select a method (gin/ablations/<method>.gin), beside the package.
LAYER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "gin", "ablations")
SECONDS_FILE = "ablation_seconds.json"  # Its first runner's name, kept for old folders.


def define_flags():
    """The flags every runner has; call only when run as a program (absl refuses one
    flag name defined twice, and tests import several runners)."""
    flags.DEFINE_multi_string("gin_file", [], "Gin files shared by every run.")
    flags.DEFINE_multi_string("gin_bindings", [], "Extra bindings shared by every run.")
    flags.DEFINE_string("workdir", None, "Folder of all runs and the summary.")
    flags.DEFINE_string("report", None, "name:split whose mIoU is summarised (default: "
                        "the first of the gin files' evaluate.datasets).")
    flags.DEFINE_string("data_dir", None, "TFDS data dir.")
    flags.mark_flag_as_required("workdir")


def define_seed_list_flags():
    """`--seed_list` and `--summarize_only`, for the runners over seeds (seeds.py,
    ablation.py); call only when run as a program, as `define_flags`."""
    flags.DEFINE_list("seed_list", None,
                      "Seeds to run instead of 0 .. seeds-1, e.g. 4,0: a weak seed "
                      "first, or one study split into lanes run side by side. The "
                      "summary covers the seeds of the call that wrote it.")
    flags.DEFINE_boolean("summarize_only", False,
                         "Run nothing: write the summary from the finished runs' eval "
                         "JSONs as they are (e.g. after lanes), leaving out runs not "
                         "finished.")


def seed_numbers(seeds, seed_list=None):
    """The seeds to run: `seed_list` as whole numbers, else 0 .. seeds-1.

    Raises:
      ValueError: for a seed that is not a whole number >= 0, or one given twice.
    """
    if not seed_list:
        return list(range(seeds))
    numbers = []
    for seed in seed_list:
        text = str(seed).strip()
        if not text.isdigit():
            raise ValueError(f"--seed_list={','.join(map(str, seed_list))}: {text!r} is "
                             "not a seed (whole numbers >= 0, e.g. --seed_list=4,0).")
        numbers.append(int(text))
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"--seed_list={','.join(map(str, seed_list))} names a seed twice.")
    return numbers


def covered_seeds(seed_list, records, workdir):
    """The seeds of `seed_list` that have a run in `records`, in its order.

    Raises:
      errors.ConfigurationError: `records` is empty (with --summarize_only: no run is
        finished); the command line reports it in one line.
    """
    if not records:
        raise errors.ConfigurationError(
            f"No finished run in {workdir} to summarise (--summarize_only): run the study "
            "first, or check --workdir, --seeds and --numerics.")
    return [seed for seed in seed_list if any(r["seed"] == seed for r in records)]


def run_label(method, seed, path):
    """How the runners name one run in their output, e.g. "lsd seed 4 (one_thread)"."""
    return f"{method} seed {seed} ({path})"


def left_out_text(left_out):
    """The summary's line naming the runs --summarize_only left out; '' for none."""
    if not left_out:
        return ""
    return f"Not finished, left out (--summarize_only): {', '.join(left_out)}.\n\n"


def read_config(gin_files, gin_bindings=(), report=None, parameters=()):
    """Reads what a runner needs from the shared configuration, before any run.

    Fails here, not in every run's process, on a malformed report and on a checkpoint
    choice by target labels without `checkpoint_selection.oracle`.

    Args:
      gin_files: gin files shared by every run.
      gin_bindings: bindings shared by every run.
      report: "name:split" summarised; None for the first of `evaluate.datasets`.
      parameters: further "function.parameter" names whose bound values are returned.

    Returns:
      (report, {parameter: value}).

    Raises:
      ValueError: a malformed report or an unbound parameter.
      selection.OracleSelectionError: see `selection.checkpoint_selection`.
    """
    gin.clear_config()
    try:
        user_errors.parse_gin(gin_files, gin_bindings)
        report = report or gin.query_parameter("evaluate.datasets")[0]
        selection.checkpoint_selection()
        values = {name: gin.query_parameter(name) for name in parameters}
    finally:
        gin.clear_config()
    runs.parse_dataset_spec(report)
    return report, values


def layer_path(method):
    """The gin layer that selects `method` (gin/ablations/<method>.gin)."""
    return os.path.join(LAYER_DIR, f"{method}.gin")


def command(run_dir, gin_files, seed, gin_bindings=(), layer=None, data_dir=None):
    """The command line of one run.

    Args:
      run_dir: the run's folder.
      gin_files: gin files shared by every run.
      seed: `train.seed`.
      gin_bindings: bindings, after the seed (a later binding wins).
      layer: a gin file given after the shared ones (a method's layer), or None.
      data_dir: TFDS data dir.

    Returns:
      The argument list.
    """
    line = [sys.executable, "-m", "gta_keras.main", f"--workdir={run_dir}"]
    line += [f"--gin_file={path}" for path in gin_files]
    if layer:
        line.append(f"--gin_file={layer}")
    line += [f"--gin_bindings=train.seed = {seed}", "--gin_bindings=train.verbose = 0"]
    line += [f"--gin_bindings={binding}" for binding in gin_bindings]
    if data_dir:
        line.append(f"--data_dir={data_dir}")
    return line


def is_finished(run_dir, report, method):
    """Whether the run's eval JSON for `report` exists (and is of this method).

    Raises:
      ValueError: the folder holds a finished run of another method.
    """
    result = read_eval(run_dir, report)
    if result is None:
        return False
    if result.get("method") != method:
        raise ValueError(f"{runs.eval_path(run_dir, report)} is a run of method "
                         f"{result.get('method')!r}, not {method!r}; use another --workdir "
                         "or remove that run.")
    return True


def read_eval(run_dir, spec):
    """The run's eval JSON for "name:split" `spec`, or None when it has none."""
    path = runs.eval_path(run_dir, spec)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def run_timed(line, run_dir, run_fn, env=None):
    """Runs `line` (`run_fn(line, check=True, env=env)`); keeps its wall time in the run."""
    start = time.time()
    run_fn(line, check=True, env=env)
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, SECONDS_FILE), "w") as f:
        json.dump({"seconds": time.time() - start}, f)


def seconds(run_dir):
    """The wall time `run_timed` kept for the run, or None."""
    path = os.path.join(run_dir, SECONDS_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["seconds"]


def write_summary(workdir, stem, summary, text):
    """Writes `DIR/<stem>.json` (the summary) and `DIR/<stem>.md` (`text`); returns
    `text`."""
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, f"{stem}.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(workdir, f"{stem}.md"), "w") as f:
        f.write(text)
    return text
