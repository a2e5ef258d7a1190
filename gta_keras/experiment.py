"""Wires data, models, evaluation and export into the jobs train / evaluate / export.

Everything here is configured by gin; `main.py` only parses flags and calls `run`. The run
folder's layout lives in `runs`, the checkpoint-selection rule in `selection`.
"""

import inspect
import json
import os
import shutil
import tempfile

from absl import logging
import gin
import keras

from gta_keras import averaging
from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import distribution
from gta_keras import evaluation
from gta_keras import export as export_lib
from gta_keras import figures
from gta_keras import graph_rewrites
from gta_keras import health
from gta_keras import machine
from gta_keras import precision
from gta_keras import predictors
from gta_keras import runs
from gta_keras import selection
from gta_keras import timing
from gta_keras import workdir_lock
from gta_keras.data import datasets_info
from gta_keras.data import pipeline
from gta_keras.models import factory

MODES = ("train", "evaluate", "export")


@gin.configurable(denylist=["model"])
def compile_model(model, f_optimizer_fn=configurables.adam,
                  g_optimizer_fn=configurables.adam, d_optimizer_fn=configurables.adam,
                  bias_lr_multiplier=2.0, jit_compile=False, skip_nonfinite_steps=False,
                  segmenter_ema_decay=None, grappler_memory_optimizer=False):
    """Compiles a `DomainAdaptationModel` with one optimizer per player.

    Args:
      model: the model.
      f_optimizer_fn: makes F and C's optimizer (gin: `@f/adam`).
      g_optimizer_fn: makes G's optimizer (gin: `@g/adam`).
      d_optimizer_fn: makes D's optimizer (gin: `@d/adam`).
      bias_lr_multiplier: F and C's biases learn this much faster (2 in the reference).
      jit_compile: XLA for the train step. Explicit, because Keras' "auto" means off on CPU
        and on on GPU, so the two would run different compilation paths.
      skip_nonfinite_steps: skip (and count) an update whose losses are not all finite,
        instead of stopping training on it; one replica only
        (`DomainAdaptationModel.compile`).
      segmenter_ema_decay: None (off), or d in (0, 1): keep an exponential moving
        average of F and C's weights (about the last 1 / (1 - d) steps;
        `gta_keras.averaging`), checkpointed, and score and export it instead of the
        training weights (`evaluate.weights`).
      grappler_memory_optimizer: run TensorFlow's graph memory optimizer on the steps
        that this thread traces from now on. Off: its rewrite of large sums kept about
        0.5 GiB allocated between the paper model's steps at 1024x512 and sums in
        arrival order (`gta_keras.graph_rewrites`); the demo's graph is the same either
        way.

    Returns:
      The model.
    """
    averaging.check_decay(segmenter_ema_decay)
    graph_rewrites.set_memory_optimizer(grappler_memory_optimizer)
    if skip_nonfinite_steps and distribution.num_replicas() > 1:
        raise pipeline.ConfigurationError(
            "compile_model.skip_nonfinite_steps works on one replica only; turn it off "
            "to train on several (a non-finite loss then stops training).")
    model.compile(f_optimizer_fn(),
                  g_optimizer_fn() if "generator" in model.players else None,
                  d_optimizer_fn() if "discriminator" in model.players else None,
                  bias_lr_multiplier=bias_lr_multiplier, jit_compile=jit_compile,
                  skip_nonfinite_steps=skip_nonfinite_steps,
                  segmenter_ema_decay=segmenter_ema_decay)
    return model


def build_compiled_model(skip_imagenet_weights=False):
    """The gin-configured model in float32, compiled (evaluation and export)."""
    return compile_model(factory.build_model(skip_imagenet_weights=skip_imagenet_weights))


def build_training_model():
    """`train`'s default `model_fn`: the compiled model under `precision.policy`."""
    policy = precision.training_policy()
    if policy not in precision.POLICIES:  # Before anything is built.
        raise pipeline.ConfigurationError(
            f"Unknown precision.policy {policy!r}; use one of {precision.POLICIES}.")
    return compile_model(precision.build_in_policy(policy, factory.build_model))


@gin.configurable(denylist=["workdir", "data_dir", "manual_dir", "dataset_fn", "model_fn",
                           "health_data_fn"])
def train(workdir, steps=100000, steps_per_epoch=1000, seed=0, checkpoints_to_keep=3,
          verbose=1, warm_start_from=None, track_best=None, track_best_every=500,
          track_best_batch_size=1, deterministic=False, data_dir=None, manual_dir=None,
          dataset_fn=pipeline.make_train_dataset, model_fn=build_training_model,
          health_data_fn=None):
    """Trains (or resumes training of) the model of `factory.build_model`.

    A checkpoint is written at the end of every epoch; training resumes from the newest
    readable one in `workdir/checkpoints`, on the batches the uninterrupted run would have
    seen from there (`make_train_dataset.start_step`); the checkpoint holds F, C, G, D,
    every optimizer and dropout's random states, so with `deterministic` a resumed run is
    bit for bit the uninterrupted one. A NaN or infinite loss stops training in that step
    (`checkpoints.DivergenceError`) without saving it. The strategy of
    `distribution.make_strategy` (gin `distribution.strategy`) holds the model, its
    optimizers and checkpoints. Scalars go to `workdir/logs` for TensorBoard, the
    operative gin config to `workdir/operative_config.gin` (when training starts, so that
    a run that dies still says what it was, and again at the end). The chief holds the
    workdir's lock (`workdir_lock.acquire`) from before the data is read, so a second run
    on the workdir refuses (`workdir_lock.WorkdirBusyError`) instead of overwriting this
    one's checkpoints. The run's health (each loss term, D's domain confusion, images
    of a fixed batch, the source-validation mIoU at each checkpoint) goes to
    `workdir/logs/health` (`gta_keras.health`, gin `training_health`).

    Args:
      workdir: the run's folder.
      steps: total training steps (iterations of the three updates).
      steps_per_epoch: steps between checkpoints and log lines; must divide `steps`.
      seed: seeds weight initialisation, dropout, data order and crops.
      checkpoints_to_keep: checkpoints kept.
      verbose: Keras progress bar (1) or one line per epoch (2) or silent (0).
      warm_start_from: another run's folder or checkpoint to initialise F and C from
        when this run starts (not when it resumes); e.g. a `source_only` run to adapt.
        G, D and the optimizers start fresh, and `steps` counts from 0 again.
      track_best: a labelled "name:split" (e.g. the source's validation split, as the
        reference code) scored every `track_best_every` steps; the best weights are kept
        in `workdir/best_checkpoint/` for `checkpoint_selection.rule = 'tracked_best'`.
      track_best_every: steps between those scores (500 in the reference code).
      track_best_batch_size: images per batch when scoring `track_best`.
      deterministic: TensorFlow's op determinism (`distribution.enable_determinism`):
        the same run gives the same bits, resumed or not; slower on GPU.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.
      dataset_fn: `pipeline.make_train_dataset`-like: called with `data_dir`,
        `manual_dir`, `seed`, `start_step` (the step training resumes at) and
        `before_reading`, which it must call once the data is on disk and before reading
        it (called again, with a no-op `before_reading`, if the newest checkpoint is
        damaged and an older one is restored).
      model_fn: makes the compiled model; called after `before_reading`.
      health_data_fn: called with the model; returns the `health.HealthData` (fixed
        batches, checkpoint score) the health summaries look at. None: the validation
        splits of `make_train_dataset`'s datasets (`_health_data`) when `dataset_fn` is
        `make_train_dataset`, else only the loss terms are written.

    Returns:
      (model, checkpointer) after training; on a non-chief worker, the checkpointer
      reads the run's checkpoints (the chief's).
    """
    for name, value in (("steps", steps), ("steps_per_epoch", steps_per_epoch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise pipeline.ConfigurationError(
                f"train.{name} must be a positive whole number, not {value!r}.")
    if steps % steps_per_epoch:
        raise pipeline.ConfigurationError(
            f"train.steps ({steps}) must be a multiple of train.steps_per_epoch "
            f"({steps_per_epoch}).")
    if deterministic:
        distribution.enable_determinism()
    try:
        strategy = distribution.make_strategy()
    except ValueError as error:
        raise pipeline.ConfigurationError(str(error)) from error
    directory = checkpoints.checkpoint_directory(workdir)
    start = checkpoints.latest_step(directory)
    # A wrong warm-start path fails now, before any data is prepared.
    warm_start_path = (checkpoints.find_checkpoint(warm_start_from)
                       if warm_start_from and not start else None)
    if distribution.is_chief(strategy):  # The one worker that writes into the run.
        workdir_lock.acquire(workdir)  # Held until `run` releases it, or the process ends.
    # Data first: a missing dataset is reported before any weights are downloaded.
    # Preparing it (generating the demo's procedural_streets on first use) draws from the
    # global random state, so the seeding waits until the data is on disk: the initial
    # weights and the data order are then the same whether or not the data had to be
    # generated. A resumed run continues on the batches of the uninterrupted run.
    dataset = dataset_fn(data_dir=data_dir, manual_dir=manual_dir, seed=seed,
                         start_step=start,
                         before_reading=lambda: keras.utils.set_random_seed(seed))
    with strategy.scope():  # The variables of the model, optimizers and checkpoints.
        model = model_fn()
        if dataset_fn is pipeline.make_train_dataset:
            _check_labelled_domain(model.method)
        # Every worker saves (a save may need them all), but only the chief into the run;
        # the others into scratch folders, removed when training ends. All resume from
        # the run's checkpoints.
        chief = distribution.is_chief(strategy)
        scratch = [] if chief else [tempfile.mkdtemp(prefix="gta_keras_worker_"),
                                    tempfile.mkdtemp(prefix="gta_keras_logs_")]
        checkpointer = checkpoints.Checkpointer(
            model, directory if chief else scratch[0], checkpoints_to_keep)
        reader = checkpointer if chief else checkpointer.sibling(directory,
                                                                 checkpoints_to_keep)
        restored = reader.restore_latest()
        if restored:
            logging.info("Resuming from %s at step %d.", restored, checkpointer.step)
        elif warm_start_path:
            logging.info("Warm start of F and C from %s.",
                         checkpoints.warm_start(model, warm_start_path))
    if checkpointer.step != start:  # The newest checkpoint was damaged: an older one.
        dataset = dataset_fn(data_dir=data_dir, manual_dir=manual_dir, seed=seed,
                             start_step=checkpointer.step, before_reading=lambda: None)
    if chief:
        _write_operative_config(workdir)
    try:
        if checkpointer.step < steps:
            callbacks = [
                checkpoints.StopOnNonFinite(checkpointer),
                checkpoints.CheckpointCallback(checkpointer),
                keras.callbacks.TensorBoard(runs.log_dir(workdir) if chief else scratch[1]),
            ]
            # After the checkpoint's save: the health callback scores it. On every worker
            # (the others into scratch), so that all read the loss-term means together.
            health_settings = health.settings()
            if health_settings["every_steps"] != 0:
                callbacks.append(_health_monitor(
                    model, checkpointer, runs.log_dir(workdir) if chief else scratch[1],
                    health_settings, steps_per_epoch, dataset_fn, health_data_fn,
                    data_dir, manual_dir))
            if track_best:
                callbacks.append(_best_tracker(model, checkpointer, workdir, track_best,
                                               track_best_every, track_best_batch_size,
                                               data_dir, manual_dir))
            model.fit(dataset, epochs=steps // steps_per_epoch,
                      initial_epoch=checkpointer.step // steps_per_epoch,
                      steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=verbose,
                      shuffle=False)  # The pipeline shuffles; Keras cannot shuffle tf.data.
    finally:
        for folder in scratch:  # Even when training stops on an error.
            shutil.rmtree(folder, ignore_errors=True)
    if chief:
        _write_operative_config(workdir)
    return model, reader  # On every worker, the reader of the run's own checkpoints.


def _check_labelled_domain(method):
    """Only "target_only" reads target labels, and it reads nothing else.

    Raises:
      ValueError: when `make_train_dataset.labelled_domain` and the method disagree.
    """
    try:
        labelled = gin.query_parameter("make_train_dataset.labelled_domain")
    except ValueError:  # Not bound: the default.
        labelled = "source"
    if (method == "target_only") != (labelled == "target"):
        raise pipeline.ConfigurationError(
            f"build_model.method = {method!r} with make_train_dataset.labelled_domain = "
            f"{labelled!r}: method 'target_only' (and only it) trains on the target's "
            "labels; bind both together, as gin/ablations/target_only.gin does.")


def _health_monitor(model, checkpointer, log_dir, settings, steps_per_epoch, dataset_fn,
                    health_data_fn, data_dir, manual_dir):
    """The `health.TrainingHealth` callback of a run (see `train`'s `health_data_fn`)."""
    if health_data_fn is not None:
        data = health_data_fn(model)
    elif dataset_fn is pipeline.make_train_dataset:
        data = _health_data(model, settings, data_dir, manual_dir)
    else:  # Data of a test's own: nothing to read the validation splits from.
        data = health.HealthData(None, None, None)
    return health.TrainingHealth(
        os.path.join(log_dir, health.LOG_SUBDIR), settings["every_steps"] or steps_per_epoch,
        data, lambda: checkpointer.step, settings["max_panel_width"])


def _health_data(model, settings, data_dir, manual_dir):
    """The fixed batches and checkpoint score from `make_train_dataset`'s datasets.

    The batches: the first frames of the validation splits of the labelled domain
    ("source") and the target (one domain when they are the same dataset, as for
    target_only). The score: mIoU on `settings["validation"]`, by default the labelled
    domain's validation split.
    """
    source, target = _train_data_setting("source"), _train_data_setting("target")
    if _train_data_setting("labelled_domain") == "target":
        source = target
    specs = {"source": f"{source}:validation", "target": f"{target}:validation"}
    if source == target:
        del specs["source"]
    validation = settings["validation"]
    if validation is None:
        validation = f"{source}:validation"
    try:
        splits = {}
        for domain, spec in specs.items():
            name, split = runs.parse_dataset_spec(spec)
            splits[domain] = (name, _first_frames(name, split, settings["num_images"],
                                                  data_dir, manual_dir))
        batches = health.load_batches(splits, _train_data_setting("image_size"), data_dir,
                                      manual_dir)
        if not validation:  # "" turns the score off.
            return health.HealthData(batches, None, None)
        name, split = runs.parse_dataset_spec(validation)
        if settings["validation_images"]:
            split = _first_frames(name, split, settings["validation_images"], data_dir,
                                  manual_dir)
            validation = f"{name}:{split}"
        batch_size = settings["batch_size"] or _bound("evaluate.batch_size", 1)
        score = _with_weights(model, scored_weights(model),
                              _split_scorer(model, name, split, batch_size, data_dir,
                                            manual_dir))
    except pipeline.EmptySplitError as error:
        raise pipeline.EmptySplitError(
            f"{error} Training health reads it: name another labelled split with "
            "training_health.validation, or turn it off with "
            "training_health.every_steps = 0.") from error
    return health.HealthData(batches, score, validation)


def _first_frames(name, split, count, data_dir, manual_dir):
    """The TFDS slice of `split`'s first `count` frames, or the whole split if smaller.

    TFDS refuses a slice longer than its split ("validation[:100]" of a 2-frame split), so
    a small validation split (a user's own data, the tests' dummy downloads) is read whole.
    Reading the slice to its end, rather than the first frames of the whole split, also
    keeps TFDS's in-memory cache of a small split from warning that it was read only in
    part.
    """
    splits = pipeline.prepare_split(name, data_dir, manual_dir).info.splits
    if split in splits and splits[split].num_examples <= count:
        return split
    return f"{split}[:{count}]"


def _split_scorer(model, name, split, batch_size, data_dir, manual_dir):
    """A function of no arguments: the model's current mIoU on a split, as `score_split`.

    Unlike `score_split`, its dataset and scorer are made once, so Keras traces the
    scoring step once, not at every checkpoint (the demo's 300 source-validation frames:
    1.3 s a checkpoint instead of 1.8 s). `split` may be a slice, "validation[:100]".
    """
    pipeline.check_split(name, split, data_dir=data_dir, manual_dir=manual_dir)
    dataset = pipeline.make_eval_dataset(name, split, batch_size, data_dir=data_dir,
                                         manual_dir=manual_dir)
    space = datasets_info.label_space(name, model.num_classes)
    scorer = evaluation.SegmentationScorer(model.predict_classes, len(space.class_names),
                                           space.prediction_lookup)
    scorer.compile()

    def score():
        scorer.evaluate(dataset, verbose=0)  # Resets the counts first.
        return evaluation.summarize(scorer.confusion.counts(), space.class_names,
                                    space.protocols)["miou"]

    return score


def _train_data_setting(parameter):
    """`make_train_dataset`'s value of `parameter`: gin's binding, or its default."""
    default = inspect.signature(pipeline.make_train_dataset).parameters[parameter].default
    return _bound(f"make_train_dataset.{parameter}", default)


def _best_tracker(model, checkpointer, workdir, spec, every_steps, batch_size, data_dir,
                  manual_dir):
    """A `selection.TrackBest` that scores `model` on `spec` ("name:split")."""
    name, split = runs.parse_dataset_spec(spec)

    def score():
        return score_split(model.predict_classes, model.num_classes, name, split,
                           batch_size, data_dir=data_dir, manual_dir=manual_dir)["miou"]

    score = _with_weights(model, scored_weights(model), score)
    best = checkpointer.sibling(checkpoints.best_checkpoint_directory(workdir))
    return selection.TrackBest(best, score, every_steps, spec, runs.best_record_path(workdir))


def select_checkpoint(model, checkpointer, workdir, settings, data_dir=None,
                      manual_dir=None, weights=None):
    """Restores the checkpoint that `settings` selects; writes `checkpoint_selection.json`.

    The file holds the rule, the split, whether that split is target-labelled ("oracle"),
    the selected step and, for "best", every kept checkpoint's mIoU on the split (of the
    weights `weights` names: "weights"): the curve that shows how much the run moved.

    Args:
      model: a compiled `DomainAdaptationModel`.
      checkpointer: its `Checkpointer`.
      workdir: the run's folder.
      settings: `selection.checkpoint_selection()`.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.
      weights: which weights of F and C "best" scores, "ema" or "raw"; None for
        `scored_weights`' choice (evaluate's).

    Returns:
      How the checkpoint was chosen, for the eval JSON (`selection.stamp`):
      "checkpoint_selection" ("last" or "best mIoU on <dataset>"), "selection_split"
      and "oracle".
    """
    score = None
    if settings["rule"] == "best":
        name, split = runs.parse_dataset_spec(settings["dataset"])
        weights = scored_weights(model, weights)

        def score():
            return score_split(model.predict_classes, model.num_classes, name, split,
                               settings["batch_size"], data_dir=data_dir,
                               manual_dir=manual_dir)["miou"]

        # Each checkpoint is restored outside the swap (a restore inside it is refused).
        score = _with_weights(model, weights, score)

    if settings["rule"] == "tracked_best":
        return _select_tracked_best(checkpointer, workdir, settings)
    result = selection.select(checkpointer, settings["rule"], score)
    stamp = selection.stamp(settings)
    result.update(dataset=settings["dataset"], oracle=stamp["oracle"])
    if score is not None:
        result["weights"] = weights
    evaluation.write_json(result, runs.selection_path(workdir))
    if settings["rule"] == "last":
        return stamp
    step = result["selected_step"]
    print(f"Selected the checkpoint of step {step}: mIoU {100 * result['scores'][step]:.1f} "
          f"on {settings['dataset']}, the best of {len(result['scores'])} kept"
          f"{_oracle_note(stamp)}.", flush=True)
    return stamp


def _select_tracked_best(checkpointer, workdir, settings):
    """Restores the best checkpoint `train.track_best` kept; see `select_checkpoint`."""
    record_path = runs.best_record_path(workdir)
    if not os.path.exists(record_path):
        raise checkpoints.CheckpointNotFoundError(
            f"checkpoint_selection.rule = 'tracked_best' needs the best checkpoint that "
            f"training keeps with train.track_best, but {record_path} does not exist. "
            "Train with train.track_best = '<name>:<split>' or use another rule.")
    with open(record_path) as f:
        record = json.load(f)
    # The split training scored, which may not be today's gin's: checked again.
    stamp = selection.stamp(settings, record["dataset"])
    best = checkpointer.sibling(checkpoints.best_checkpoint_directory(workdir))
    result = selection.select(best, "tracked_best")
    result.update(dataset=record["dataset"], scores=record["scores"], oracle=stamp["oracle"])
    evaluation.write_json(result, runs.selection_path(workdir))
    step = result["selected_step"]
    print(f"Selected the best checkpoint of training, step {step}: mIoU "
          f"{100 * record['scores'][str(step)]:.1f} on {record['dataset']}"
          f"{_oracle_note(stamp)}.", flush=True)
    return stamp


def _oracle_note(stamp):
    """", an ORACLE choice (target labels)" for an oracle stamp, else ""."""
    return ", an ORACLE choice (target labels)" if stamp["oracle"] else ""


@gin.configurable(denylist=["predictor", "workdir", "eval_dir", "data_dir", "manual_dir"])
def evaluate(predictor, workdir, datasets=(), batch_size=1, report_protocols=False,
             weights=None, eval_dir=runs.EVAL_DIR, data_dir=None, manual_dir=None):
    """Scores a predictor on labelled splits with Keras `evaluate`.

    Writes `workdir/<eval_dir>/<dataset>_<split>.json` per split: per-class IoU, mIoU,
    pixel accuracy, what was scored (`predictor.description`; for a trained model also
    "weights", "ema" or "raw", and the run's "segmenter_ema_decay") and, with
    `report_protocols`, the 19/16/13-class Cityscapes mIoUs ("miou19", "miou16",
    "miou13"). CamVid is scored in its own classes, with "miou10" over the 10 it shares
    with SYNTHIA and Cityscapes (paper Table 5).

    Args:
      predictor: a `predictors.Predictor`: a trained model (`predictors.from_model`) or a
        SavedModel (`predictors.from_saved_model`).
      workdir: the run's folder.
      datasets: "name:split" strings, e.g. "procedural_streets/realistic:validation".
      batch_size: images per batch (1 unless the split's images share one size).
      report_protocols: add mIoU19/16/13 (for Cityscapes targets).
      weights: which weights of a trained model's F and C are scored: "ema" (the moving
        average of `compile_model.segmenter_ema_decay`), "raw" (the training weights),
        or None: the average when the run keeps one. Checkpoint selection, the figure
        and (unless `export.weights` says otherwise) the export follow it. A SavedModel
        holds the one set of weights it was exported with.
      eval_dir: the folder in `workdir` for the JSON files.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.

    Returns:
      A dict "name:split" -> summary dict.
    """
    check_splits(datasets, data_dir, manual_dir)  # All, before any JSON is written.
    results = {}
    stamp = machine.describe()  # Scores differ by CPU: every JSON says which one.
    with predictor.weights_in(weights) as weights_stamp:
        for spec in datasets:
            name, split = runs.parse_dataset_spec(spec)
            summary = score_split(predictor.predict_classes, predictor.num_classes, name,
                                  split, batch_size, report_protocols, data_dir=data_dir,
                                  manual_dir=manual_dir)
            summary.update(predictor.description)
            summary.update(weights_stamp)  # A trained model's: which weights.
            summary["machine"] = stamp
            path = runs.eval_path(workdir, spec, eval_dir)
            evaluation.write_json(summary, path)
            logging.info("Wrote %s", path)
            if "checkpoint_step" in summary:
                average = " (moving average)" if summary.get("weights") == "ema" else ""
                scored = f"checkpoint step {summary['checkpoint_step']}{average}"
            else:
                scored = f"SavedModel {summary.get('saved_model')}"
            print(f"\n{name} {split}: {summary['num_images']} images, {scored}\n"
                  f"{evaluation.format_table(summary)}", flush=True)
            results[spec] = summary
    return results


def check_splits(specs, data_dir=None, manual_dir=None):
    """Makes sure every "name:split" of `specs` can be read and holds examples.

    Raises:
      pipeline.EmptySplitError: for the first that cannot; the message names it, says
        what the dataset has and what to do.
    """
    for spec in specs:
        name, split = runs.parse_dataset_spec(spec)
        pipeline.check_split(name, split, data_dir=data_dir, manual_dir=manual_dir)


def score_split(predict_classes, num_classes, name, split, batch_size=1,
                report_protocols=False, data_dir=None, manual_dir=None):
    """Runs Keras `evaluate` on one split, in that dataset's label space.

    Args:
      predict_classes: (images, output size) -> class ids; a `Predictor`'s.
      num_classes: classes the predictor outputs.
      name: TFDS name.
      split: split name.
      batch_size: images per batch.
      report_protocols: add the 19/16/13-class Cityscapes mIoUs.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.

    Returns:
      `evaluation.summarize`'s dict plus dataset, split, num_images and the scoring's
      wall time (`timing.EvalTimer.summary`).
    """
    dataset = pipeline.make_eval_dataset(name, split, batch_size, data_dir=data_dir,
                                         manual_dir=manual_dir)
    space = datasets_info.label_space(name, num_classes, report_protocols)
    scorer = evaluation.SegmentationScorer(predict_classes, len(space.class_names),
                                           space.prediction_lookup)
    scorer.compile()
    empty = pipeline.EmptySplitError(
        f"The split {split!r} of {name!r} holds no images: there is nothing to score. "
        "Evaluate a split with examples (check the names in evaluate.datasets).")
    if int(dataset.cardinality()) == 0:
        raise empty
    timer = timing.EvalTimer()
    scores = scorer.evaluate(dataset, verbose=0, return_dict=True, callbacks=[timer])
    if not scores.get("num_images"):  # A dataset of unknown length that was empty.
        raise empty
    summary = evaluation.summarize(scorer.confusion.counts(), space.class_names,
                                   space.protocols)
    summary.update(dataset=name, split=split, num_images=int(scores["num_images"]))
    summary.update(timer.summary())  # Seconds per image, on this machine (paper Table 3).
    return summary


@gin.configurable(denylist=["model", "checkpointer", "workdir"])
def export(model, checkpointer, workdir, serving_size=None, weights=None):
    """Exports F + C to `workdir/export/<step>/` for TensorFlow Serving.

    Beside the SavedModel, `export_lib.RECORD_PATH` (assets.extra/gta_keras_export.json)
    says its step, which weights it holds, its serving size and upsampling.

    Args:
      model: the trained `DomainAdaptationModel`.
      checkpointer: its `Checkpointer` (the step names the version).
      workdir: the run's folder.
      serving_size: (height, width) F + C run at; None for the model's eval_size, which
        makes the export score as `evaluate` does (or, without one, the input size rounded
        to a multiple of 32).
      weights: which weights of F and C are exported, "ema" (their moving average) or
        "raw"; None for `evaluate.weights`' choice, so that the export scores as
        `evaluate` does (the average when the run keeps one).

    Returns:
      The export path.
    """
    weights = scored_weights(model, weights)
    step = max(checkpointer.step, 1)
    serving_size = serving_size or model.eval_size
    average = model.segmenter_average
    # Which weights an export holds cannot be told from the SavedModel: say it beside.
    record = {"step": step, "weights": weights,
              "segmenter_ema_decay": None if average is None else average.decay,
              "serving_size": None if serving_size is None else list(serving_size),
              "upsampling": model.upsampling}
    with averaging.weights_in(model, weights):  # The SavedModel copies the values in.
        path = export_lib.export_segmenter(model.embedder, model.classifier,
                                           runs.export_base(workdir), step, serving_size,
                                           model.upsampling, record)
    which = " (the moving average of its weights)" if weights == "ema" else ""
    print(f"Exported the segmenter{which} to {path}", flush=True)
    return path


@gin.configurable(denylist=["model", "workdir", "data_dir", "manual_dir"])
def save_figure(model, workdir, datasets=(), num_images=3, data_dir=None,
                manual_dir=None):
    """Writes `workdir/figures/predictions.png`: one block of rows per "name:split".

    Each row: input | prediction | ground truth | G's reconstruction.

    Args:
      model: the trained model.
      workdir: the run's folder.
      datasets: "name:split" strings; empty for no figure.
      num_images: rows per dataset.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.

    Returns:
      The PNG path, or None.
    """
    if not datasets:
        return None
    blocks = []
    for spec in datasets:
        name, split = runs.parse_dataset_spec(spec)
        split = _first_frames(name, split, num_images, data_dir, manual_dir)
        dataset = pipeline.make_eval_dataset(name, split, num_images, data_dir=data_dir,
                                             manual_dir=manual_dir)
        images, labels = list(dataset)[0]  # One batch, read to its end: `_first_frames`.
        blocks.append(figures.prediction_rows(model, images, labels))
    path = runs.figure_path(workdir)
    figures.save_grid(blocks, path, column_titles=figures.prediction_column_titles(model),
                      class_names=figures.CITYSCAPES_CLASSES, block_titles=list(datasets))
    print(f"Wrote {path}", flush=True)
    return path


def restore(workdir):
    """Builds the configured model and restores the run's newest checkpoint.

    Returns:
      (model, checkpointer).

    Raises:
      checkpoints.CheckpointNotFoundError: when the run has no checkpoint.
    """
    # The checkpoint overwrites every weight: no ImageNet download needed.
    model = build_compiled_model(skip_imagenet_weights=True)
    checkpointer = checkpoints.Checkpointer(model, checkpoints.checkpoint_directory(workdir))
    checkpointer.restore_latest(require=True)
    return model, checkpointer


def run(workdir, mode=None, data_dir=None, manual_dir=None):
    """Runs one mode, or train, evaluate and export in turn when `mode` is None.

    Args:
      workdir: the run's folder; holds checkpoints, logs, eval, export, figures.
      mode: "train", "evaluate", "export" or None.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.
    """
    if mode is not None and mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; use one of {MODES}, or none for all.")
    settings = selection.checkpoint_selection()  # A bad rule fails before training.
    _check_averaging_settings()  # So do bad averaging settings.
    workdir_lock.check_writable(workdir)
    if mode in (None, "train"):
        try:
            model, checkpointer = train(workdir, data_dir=data_dir, manual_dir=manual_dir)
        finally:
            workdir_lock.release(workdir)
        if mode == "train":
            return
        if precision.training_policy() != "float32":
            # Evaluated and exported in float32, as --mode=evaluate and export would.
            model, checkpointer = restore(workdir)
    else:
        model, checkpointer = restore(workdir)
    if mode in (None, "evaluate"):  # An empty or unknown split fails before any file.
        check_splits(_bound("evaluate.datasets", ()), data_dir, manual_dir)
    selected_by = select_checkpoint(model, checkpointer, workdir, settings,
                                    data_dir=data_dir, manual_dir=manual_dir)
    if mode in (None, "evaluate"):
        evaluate(predictors.from_model(model, checkpointer.step, selected_by), workdir,
                 data_dir=data_dir, manual_dir=manual_dir)
        with averaging.weights_in(model, scored_weights(model)):
            save_figure(model, workdir, data_dir=data_dir, manual_dir=manual_dir)
    if mode in (None, "export"):
        export(model, checkpointer, workdir)


def scored_weights(model, weights=None):
    """"ema" or "raw": which weights of F and C are scored, selected on and exported.

    Args:
      model: a compiled `DomainAdaptationModel`.
      weights: "ema", "raw", or None for gin's `evaluate.weights`, whose None means the
        moving average when the model keeps one (`averaging.resolve`).

    Raises:
      pipeline.ConfigurationError: an unknown choice, or "ema" without an average.
    """
    average = model.segmenter_average
    return averaging.resolve(weights or _bound("evaluate.weights", None),
                             None if average is None else average.decay)


def _with_weights(model, weights, score):
    """`score`, a function of no arguments, run with `weights` ("ema", "raw") in F and C."""

    def scored():
        with averaging.weights_in(model, weights):
            return score()

    return scored


def _check_averaging_settings():
    """Refuses, before any work, a bad `compile_model.segmenter_ema_decay` or a choice of
    `evaluate.weights` / `export.weights` the run cannot score.

    Raises:
      pipeline.ConfigurationError: what is wrong and what to do.
    """
    decay = _bound("compile_model.segmenter_ema_decay", None)
    averaging.check_decay(decay)
    for parameter in ("evaluate.weights", "export.weights"):
        averaging.resolve(_bound(parameter, None), decay, parameter)


def _bound(parameter, default):
    """The value gin binds to "function.parameter", or `default` if it binds none."""
    try:
        return gin.query_parameter(parameter)
    except ValueError:
        return default


def _write_operative_config(workdir):
    os.makedirs(workdir, exist_ok=True)
    with open(runs.operative_config_path(workdir), "w") as f:
        f.write(gin.operative_config_str())

