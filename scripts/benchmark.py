"""Measures training-step and inference speed, and peak memory; prints JSON.

  python scripts/benchmark.py --gin_file=gin/demo.gin [--steps=20] [--output=bench.json]
  python scripts/benchmark.py --mode=paper [--size=160x320] [--output=paper.json]

Demo mode (the default): random data of the configured training size, so it needs no
dataset. For each update reading and method, the mean seconds per training step after
warm-up; then images per second of the segmenter alone at the evaluation size.

Paper mode: the paper's model (full widths: `embedder.width_multiplier=1.0`,
`embedder.fc_width=4096`, random init) under gin/base.gin, batch 1 + 1, random data of
`--size`. One JSON object (keys in `PAPER_KEYS`): the median seconds of single steps after
warm-up (each step timed on its own, synchronised on its losses) for lsd/single_pass,
lsd/sequential and source_only; the first-trace time; the FLOPs of one lsd step counted
from the step's graph (forward + backward + optimizer: see `count_graph_flops`) and the
achieved GFLOP/s; the best float32 matmul GFLOP/s of TensorFlow and numpy in the same run
and the step's utilisation of TensorFlow's; seconds per image of the exported SavedModel
at `--export_size`; images per second of the demo's real input pipeline alone (and the
demo's own lsd step, to compare); peak memory of one step at `--memory_size`, measured in
child processes of their own so that the figure is clean (`--memory_repeats` of them: the
largest peak, and each), and in one more the peak of live tensors and which they were.

Timings are only comparable within one run (as ratios), on one machine: the machines this
runs on are shared.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import gc
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import gin
import numpy as np
import tensorflow as tf

from gta_keras import configurables
from gta_keras import experiment
from gta_keras import flops as flops_lib
from gta_keras import graph_rewrites
from gta_keras import machine
from gta_keras import memory_profile
from gta_keras import precision
from gta_keras import profiling
from gta_keras.models import factory

FLAGS = flags.FLAGS
flags.DEFINE_enum("mode", "demo", ["demo", "paper"],
                  "demo: the demo configuration; paper: the paper's full-width model.")
flags.DEFINE_multi_string("gin_file", None,
                          "Gin files of the setup (default: gin/demo.gin in demo mode, "
                          "gin/base.gin in paper mode).")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")
flags.DEFINE_integer("steps", None,
                     "Timed steps per configuration (default: 20 demo, 5 paper).")
flags.DEFINE_integer("warmup", 3, "Untimed steps first (the first includes the trace).")
flags.DEFINE_string("size", "160x320", "Paper mode: HxW of the training crops.")
flags.DEFINE_float("width_multiplier", 1.0, "Paper mode: embedder.width_multiplier.")
flags.DEFINE_integer("fc_width", 4096, "Paper mode: embedder.fc_width.")
flags.DEFINE_integer("num_classes", 19, "Paper mode: classes.")
flags.DEFINE_string("memory_size", "512x1024",
                    "Paper mode: HxW of the peak-memory step (its own process); '' skips.")
flags.DEFINE_integer("memory_repeats", 3,
                     "Paper mode: processes measuring the peak-memory step; the peak is the "
                     "largest (it moves by up to 0.8 GiB between processes).")
flags.DEFINE_string("export_size", "512x1024",
                    "Paper mode: HxW of the exported SavedModel's input and serving size.")
flags.DEFINE_integer("export_repeats", 3, "Paper mode: timed calls of the SavedModel.")
flags.DEFINE_integer("matmul_size", 4096, "Paper mode: side of the float32 matmul.")
flags.DEFINE_integer("pipeline_batches", 100, "Paper mode: timed batches of the pipeline.")
flags.DEFINE_multi_string("pipeline_gin_file", ["gin/demo.gin"],
                          "Paper mode: gin files of the input pipeline (the demo's).")
flags.DEFINE_enum("precision", "float32", list(precision.POLICIES),
                  "Keras dtype policy of the paper model (gta_keras/precision.py).")
flags.DEFINE_list("configurations", ["lsd/single_pass", "lsd/sequential",
                                     "source_only/single_pass"],
                  "Paper mode: method/reading pairs to time (lsd/single_pass always).")
flags.DEFINE_list("skip", [], "Paper mode: parts to leave out (null in the JSON): "
                  "pipeline, export.")
flags.DEFINE_multi_string("pipeline_gin_bindings", [],
                          "Paper mode: extra bindings of the demo's pipeline and step.")
flags.DEFINE_bool("breakdown", False,
                  "Paper mode: also time the lsd step's parts (forward alone, forward + "
                  "each player's gradient).")
flags.DEFINE_integer("profile_steps", 0,
                     "Paper mode: profile this many lsd/single_pass steps after the timed "
                     "ones (TensorFlow's profiler; op seconds by type and by player, "
                     "gta_keras/profiling.py); 0 skips.")
flags.DEFINE_bool("compare_precision", False,
                  "Paper mode: also time lsd/single_pass under mixed_bfloat16 in this run "
                  "(after the float32 steps), with its losses next to float32's.")
flags.DEFINE_bool("memory_child", False, "Internal: run one step at --size, print RSS.")
flags.DEFINE_bool("memory_profile", False,
                  "Internal, with --memory_child: the second step under the profiler.")
flags.DEFINE_string("output", None, "Also write the JSON here.")

CONFIGURATIONS = (("lsd", "single_pass"), ("lsd", "sequential"),
                  ("source_only", "single_pass"))
# Every key of the paper mode's JSON (tests/test_benchmark.py checks them).
PAPER_KEYS = (
    "mode", "machine", "gin_files", "gin_bindings", "precision", "image_size",
    "batch_size", "widths", "timed_steps", "train_seconds_per_step",
    "train_step_times", "first_step_seconds", "trace_seconds", "step_flops",
    "flop_counting", "step_gflops_per_second", "matmul_gflops_per_second",
    "utilisation_of_tf_matmul", "export_seconds_per_image", "export_size",
    "pipeline_images_per_second", "demo_lsd_seconds_per_step",
    "pipeline_speed_over_demo_step", "peak_memory_step", "grappler_memory_optimizer")
GIB = 1024 ** 3


def _size(text):
    """"160x320" -> (160, 320); ValueError unless two positive whole numbers."""
    match = re.fullmatch(r"\s*([1-9]\d*)\s*[xX]\s*([1-9]\d*)\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a size: write HEIGHTxWIDTH, e.g. 160x320.")
    return int(match.group(1)), int(match.group(2))


def _is_size(text, empty_allowed=False):
    try:
        return (empty_allowed and not text) or bool(_size(text))
    except ValueError:
        return False


# Bad sizes stop at flag parsing, in one line, before TensorFlow does anything.
SIZE_MESSAGE = "must read HEIGHTxWIDTH, e.g. 160x320"
flags.register_validator("size", _is_size, message=SIZE_MESSAGE)
flags.register_validator("export_size", _is_size, message=SIZE_MESSAGE)
flags.register_validator("memory_size", lambda text: _is_size(text, empty_allowed=True),
                         message=SIZE_MESSAGE + ", or '' to skip")


def _random_triplets(image_size, batch_size, num_classes=19):
    rng = np.random.default_rng(0)
    shape = (batch_size,) + tuple(image_size)
    source = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    labels = rng.integers(0, num_classes, shape + (1,)).astype(np.uint8)
    target = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    return source, labels, target


def time_training(method, reading, dataset, steps):
    """Mean seconds per training step (demo mode: one `fit` divided by its steps)."""
    model = experiment.compile_model(
        factory.build_model(method=method, update_reading=reading))
    model.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return (time.perf_counter() - start) / steps, model


def time_inference(model, size, batch_size, repeats=10):
    """Images per second of C(F(x)) at `size`."""
    images = tf.random.uniform((batch_size,) + tuple(size) + (3,), 0, 255)
    predict = tf.function(lambda x: model(x, training=False))
    predict(images)
    start = time.perf_counter()
    for _ in range(repeats):
        predict(images).numpy()
    return repeats * batch_size / (time.perf_counter() - start)


def demo_main():
    configurables.parse_gin(FLAGS.gin_file or ["gin/demo.gin"], FLAGS.gin_bindings)
    steps = FLAGS.steps or 20
    image_size = gin.query_parameter("make_train_dataset.image_size")
    batch_size = gin.query_parameter("make_train_dataset.batch_size")
    dataset = tf.data.Dataset.from_tensors(
        _random_triplets(image_size, batch_size)).repeat()
    results = {"gin_files": FLAGS.gin_file or ["gin/demo.gin"],
               "gin_bindings": FLAGS.gin_bindings,
               "image_size": list(image_size), "batch_size": batch_size,
               "machine": machine.describe(),
               "train_seconds_per_step": {}}
    model = None
    for method, reading in CONFIGURATIONS:
        seconds, trained = time_training(method, reading, dataset, steps)
        results["train_seconds_per_step"][f"{method}/{reading}"] = round(seconds, 4)
        model = model or trained
    eval_size = gin.query_parameter("segmenter.eval_size") or image_size
    results["inference_images_per_second"] = round(
        time_inference(model, eval_size, batch_size), 2)
    results["eval_size"] = list(eval_size)
    results["peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return results


# ----------------------------------------------------------------------------- paper mode


def best_matmul_rates(size, repeats=5):
    """Best float32 size x size matmul GFLOP/s of TensorFlow and of numpy."""
    flops = 2.0 * size ** 3
    a = tf.random.uniform((size, size), dtype=tf.float32)
    b = tf.random.uniform((size, size), dtype=tf.float32)
    matmul = tf.function(tf.linalg.matmul)
    matmul(a, b).numpy()
    tf_best = min(_timed(lambda: matmul(a, b).numpy()) for _ in range(repeats))
    a_np, b_np = a.numpy(), b.numpy()
    np.matmul(a_np, b_np)
    np_best = min(_timed(lambda: np.matmul(a_np, b_np)) for _ in range(repeats))
    return {"tensorflow": round(flops / tf_best / 1e9, 1),
            "numpy": round(flops / np_best / 1e9, 1), "size": size}


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _parse_paper_gin(image_size):
    gin.clear_config()
    bindings = [f"make_train_dataset.image_size = {tuple(image_size)}",
                "make_train_dataset.batch_size = 1",
                "embedder.imagenet_weights = None",
                f"embedder.width_multiplier = {FLAGS.width_multiplier}",
                f"embedder.fc_width = {FLAGS.fc_width}",
                f"build_model.num_classes = {FLAGS.num_classes}"] + FLAGS.gin_bindings
    configurables.parse_gin(FLAGS.gin_file or ["gin/base.gin"], bindings)


def _paper_model(method, reading):
    embedder = factory.EmbedderConfig(width_multiplier=FLAGS.width_multiplier,
                                      fc_width=FLAGS.fc_width, imagenet_weights=None)
    model = factory.build_model(method=method, update_reading=reading, embedder=embedder)
    if FLAGS.precision != "float32":
        precision.cast_player_outputs(model)  # float32 outputs into the losses
    return experiment.compile_model(model)


def _step_function(model):
    return tf.function(model.train_step, jit_compile=bool(model.jit_compile))


def _step_fetches(concrete):
    """What a run of the traced step needs: its outputs and its variable updates."""
    return list(concrete.outputs) + list(concrete.graph.control_outputs)


def _sync(outputs):
    return {name: float(value) for name, value in outputs.items()}


def time_paper_step(method, reading, batch, steps, warmup, count_flops=False,
                    profile_steps=0):
    """Seconds of single training steps of the paper model, each timed on its own.

    Returns:
      A dict: "median", "times" (every timed step), "first_step" (trace + graph
      optimisation + first run), "trace" (tracing to a graph alone), "losses" (the last
      step's) and, with `count_flops`, "flops", "flops_by_op", "unknown_shape_ops",
      "profiler_conv2d_flops"; with `profile_steps`, "profile" (`profiling.profile_calls`
      of that many steps after the timed ones).
    """
    model = _paper_model(method, reading)
    step = _step_function(model)
    batch = tuple(tf.constant(x) for x in batch)
    result = {}
    start = time.perf_counter()
    concrete = step.get_concrete_function(batch)
    result["trace"] = time.perf_counter() - start
    if count_flops:
        flops, by_type, unknown = flops_lib.count_graph_flops(concrete.graph)
        needed = _step_fetches(concrete)
        result.update(flops=flops, flops_by_op=by_type, unknown_shape_ops=unknown,
                      profiler_flops=flops_lib.profiler_flops(concrete.graph),
                      flops_pruned=flops_lib.count_graph_flops(concrete.graph, needed)[0])
    start = time.perf_counter()
    _sync(step(batch))
    result["first_step"] = time.perf_counter() - start + result["trace"]
    for _ in range(max(warmup - 1, 0)):
        _sync(step(batch))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        losses = _sync(step(batch))
        times.append(time.perf_counter() - start)
    result.update(median=statistics.median(times), times=times, losses=losses)
    if profile_steps:
        result["profile"] = profiling.profile_calls(lambda: _sync(step(batch)),
                                                    profile_steps)
    return result, model


def compare_precision(batch, steps):
    """lsd/single_pass under mixed_bfloat16: its step time and first losses, against a
    float32 model built from the same seed and stepped on the same batch."""
    import keras  # pylint: disable=import-outside-toplevel
    first_losses, results = {}, {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.mixed_precision.set_global_policy(policy)
        keras.utils.set_random_seed(0)
        model = _paper_model("lsd", "single_pass")
        if policy != "float32":
            precision.cast_player_outputs(model)
        step = _step_function(model)
        tensors = tuple(tf.constant(x) for x in batch)
        start = time.perf_counter()
        first_losses[policy] = _sync(step(tensors))
        first = time.perf_counter() - start
        for _ in range(max(FLAGS.warmup - 1, 0)):
            _sync(step(tensors))
        times, losses = [], []
        for _ in range(steps):
            start = time.perf_counter()
            losses.append(_sync(step(tensors)))
            times.append(time.perf_counter() - start)
        results[policy] = {
            "seconds_per_step": round(statistics.median(times), 3),
            "step_times": [round(t, 3) for t in times],
            "first_step_seconds": round(first, 1),
            "first_losses": first_losses[policy], "last_losses": losses[-1],
            "losses_finite": all(np.isfinite(v) for step_losses in losses
                                 for v in step_losses.values()),
            "variable_dtypes": sorted({v.dtype for v in model.trainable_variables})}
        del model, step
        gc.collect()
    keras.mixed_precision.set_global_policy("float32")
    results["first_losses_relative_difference"] = {
        name: round(abs(first_losses["mixed_bfloat16"][name] - value) / abs(value), 4)
        for name, value in first_losses["float32"].items()}
    results["speedup"] = round(results["float32"]["seconds_per_step"]
                               / results["mixed_bfloat16"]["seconds_per_step"], 2)
    return results


def time_breakdown(batch, steps):
    """Median seconds of the lsd step's parts on one model: forward alone, forward +
    one player's gradient (no update), forward + all three gradients of one tape."""
    import keras  # pylint: disable=import-outside-toplevel
    model = _paper_model("lsd", "single_pass")
    batch = tuple(tf.constant(x) for x in batch)
    names = {"discriminator": "d_loss", "generator": "g_loss", "segmenter": "f_loss"}

    def forward(s, l, t):
        return model.compute_losses(s, l, t)["f_loss"]

    def gradients(players):
        def fn(s, l, t):
            with tf.GradientTape(persistent=True) as tape:
                losses = model.compute_losses(s, l, t)
            total = []
            for player in players:
                grads = tape.gradient(losses[names[player]],
                                      model.player_variables(player))
                total.append(tf.add_n([tf.reduce_sum(g) for g in grads if g is not None]))
            return tf.add_n(total)
        return fn

    parts = {"forward": forward}
    for player in ("discriminator", "generator", "segmenter"):
        parts[f"forward+{player}_gradient"] = gradients([player])
    parts["forward+all_gradients"] = gradients(["discriminator", "generator", "segmenter"])
    result = {}
    for name, fn in parts.items():
        compiled = tf.function(fn)
        compiled(*batch).numpy()
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            compiled(*batch).numpy()
            times.append(time.perf_counter() - start)
        result[name] = round(statistics.median(times), 3)
        concrete = compiled.get_concrete_function(*batch)
        result[name + "_gflops"] = round(flops_lib.count_graph_flops(concrete.graph)[0] / 1e9, 1)
        result[name + "_gflops_pruned"] = round(flops_lib.count_graph_flops(
            concrete.graph, _step_fetches(concrete))[0] / 1e9, 1)
    del keras
    return result


def time_export(model, export_size, repeats):
    """Seconds per image of the exported SavedModel (F + C) on one uint8 image."""
    from gta_keras import export  # pylint: disable=import-outside-toplevel
    with tempfile.TemporaryDirectory() as base:
        path = export.export_segmenter(model.embedder, model.classifier, base, 1,
                                       serving_size=export_size)
        serve = tf.saved_model.load(path).signatures[export.SIGNATURE_KEY]
        image = tf.constant(np.random.default_rng(0).integers(
            0, 256, (1,) + tuple(export_size) + (3,)).astype(np.uint8))
        serve(images=image)["classes"].numpy()
        times = [_timed(lambda: serve(images=image)["classes"].numpy())
                 for _ in range(repeats)]
    return statistics.median(times)


def time_pipeline(batches):
    """Images per second of the demo's real input pipeline alone, and the demo's own
    lsd/single_pass step (seconds, mean of a short `fit`), to compare the two."""
    from gta_keras.data import pipeline  # pylint: disable=import-outside-toplevel
    gin.clear_config()
    configurables.parse_gin(FLAGS.pipeline_gin_file, FLAGS.pipeline_gin_bindings)
    batch_size = gin.query_parameter("make_train_dataset.batch_size")
    image_size = gin.query_parameter("make_train_dataset.image_size")
    iterator = iter(pipeline.make_train_dataset())
    for _ in range(5):  # Fills the shuffle buffers and starts the parallel maps.
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        tf.nest.map_structure(lambda x: x.numpy(), next(iterator))
    images_per_second = batches * batch_size / (time.perf_counter() - start)
    dataset = tf.data.Dataset.from_tensors(
        _random_triplets(image_size, batch_size)).repeat()
    demo_step, _ = time_training("lsd", "single_pass", dataset, 10)
    return images_per_second, demo_step, batch_size


def memory_child():
    """One lsd/single_pass step at --size in this process; prints its peak RSS as JSON.

    Where the CPU allocator counts its bytes (TensorFlow's BFC allocator,
    `memory_profile.BFC_ENVIRONMENT`, and oneDNN's, which TensorFlow uses where oneDNN is
    on) also the peak of live tensors and those alive after the first step (weights,
    Adam's slots and whatever else stays between steps). With --memory_profile the second
    step runs under the profiler: what was alive at its peak
    (`memory_profile.live_at_peak`). Only then: the profiler slows that step and holds its
    events in memory, which would add to the resident set measured here."""
    image_size = _size(FLAGS.size)
    _parse_paper_gin(image_size)
    model = _paper_model("lsd", "single_pass")
    step = _step_function(model)
    batch = tuple(tf.constant(x) for x in _random_triplets(image_size, 1,
                                                           FLAGS.num_classes))
    start = time.perf_counter()
    _sync(step(batch))
    first = time.perf_counter() - start
    after_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    between_steps = memory_profile.allocator_current_gib()
    losses, live = {}, None
    second_step = lambda: losses.update(_sync(step(batch)))
    start = time.perf_counter()
    if FLAGS.memory_profile:
        live = memory_profile.profile_peak(second_step)
    else:
        second_step()
    second = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "size": list(image_size), "peak_rss_gib": round(peak * 1024 / GIB, 2),
        "peak_rss_gib_after_first_step": round(after_first * 1024 / GIB, 2),
        "peak_tensor_gib": memory_profile.allocator_peak_gib(),
        "tensor_gib_between_steps": between_steps,
        "live_at_peak": live,
        "first_step_seconds": round(first, 1), "second_step_seconds": round(second, 1),
        "losses_finite": all(np.isfinite(v) for v in losses.values()),
        "grappler_memory_optimizer": graph_rewrites.memory_optimizer_enabled()}))


def run_memory_child(memory_size, environment=None, profile=False):
    """Runs `memory_child` in a fresh process (`environment` added to this one's; with
    --memory_profile if `profile`); its JSON (or the failure)."""
    command = [sys.executable, os.path.abspath(__file__), "--mode=paper", "--memory_child",
               f"--memory_profile={profile}",
               f"--size={memory_size[0]}x{memory_size[1]}",
               f"--width_multiplier={FLAGS.width_multiplier}",
               f"--fc_width={FLAGS.fc_width}", f"--num_classes={FLAGS.num_classes}",
               f"--precision={FLAGS.precision}"]
    command += [f"--gin_file={name}" for name in FLAGS.gin_file or []]
    command += [f"--gin_bindings={binding}" for binding in FLAGS.gin_bindings]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env=dict(os.environ, **(environment or {})))
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"error": f"exit {done.returncode}", "stderr": done.stderr[-2000:]}
    return json.loads(lines[-1])


def measure_peak_memory(memory_size, repeats):
    """`run_memory_child` `repeats` times: the run with the largest peak, with every
    run's peak in "peak_rss_gib_runs".

    Which tensors are alive at once depends on the order two threads run the ops in, so
    the peak of the same step moved from 7.67 to 8.11 GiB between three processes
    (docs/performance.md); one process would report a draw, not the peak.

    Then one more process under TensorFlow's BFC allocator
    (`memory_profile.BFC_ENVIRONMENT`), for "peak_tensor_gib": the most memory its
    tensors held at once, and "live_at_peak": which they were. That is close to what a
    GPU, whose allocator it is, must hold (its convolutions' scratch buffers differ from
    Eigen's and oneDNN's); the resident set adds the runtime, the graph and what the C
    library's allocator keeps after frees. The BFC process's own resident set
    is not a run of the figure above (that allocator keeps what it grew).
    """
    runs = [run_memory_child(memory_size) for _ in range(max(repeats, 1))]
    tensor_run = run_memory_child(memory_size, memory_profile.BFC_ENVIRONMENT, profile=True)
    failed = [run for run in runs + [tensor_run] if "error" in run]
    if failed:
        return failed[0]
    largest = max(runs, key=lambda run: run["peak_rss_gib"])
    return dict(largest, peak_rss_gib_runs=[run["peak_rss_gib"] for run in runs],
                peak_tensor_gib=tensor_run["peak_tensor_gib"],
                tensor_gib_between_steps=tensor_run["tensor_gib_between_steps"],
                live_at_peak=tensor_run["live_at_peak"],
                peak_rss_gib_under_bfc=tensor_run["peak_rss_gib"])


def paper_main():
    image_size = _size(FLAGS.size)
    steps = FLAGS.steps or 5
    results = {"mode": "paper", "machine": machine.describe(),
               "gin_files": FLAGS.gin_file or ["gin/base.gin"],
               "gin_bindings": FLAGS.gin_bindings, "precision": FLAGS.precision,
               "image_size": list(image_size), "batch_size": 1,
               "widths": {"width_multiplier": FLAGS.width_multiplier,
                          "fc_width": FLAGS.fc_width},
               "timed_steps": steps}
    # First, while this process is still small: the child's memory figure is its own,
    # but the machine's free memory is shared.
    memory_size = _size(FLAGS.memory_size) if FLAGS.memory_size else None
    results["peak_memory_step"] = (measure_peak_memory(memory_size, FLAGS.memory_repeats)
                                   if memory_size else None)
    print("peak_memory_step:", json.dumps(results["peak_memory_step"]), file=sys.stderr)
    results["matmul_gflops_per_second"] = best_matmul_rates(FLAGS.matmul_size)
    results.update(pipeline_images_per_second=None, demo_lsd_seconds_per_step=None,
                   pipeline_speed_over_demo_step=None)
    if "pipeline" not in FLAGS.skip:
        try:
            images_per_second, demo_step, demo_batch = time_pipeline(FLAGS.pipeline_batches)
        except Exception as error:  # pylint: disable=broad-except  (keep the rest)
            results["pipeline_error"] = repr(error)[:500]
        else:
            results["pipeline_images_per_second"] = round(images_per_second, 1)
            results["demo_lsd_seconds_per_step"] = round(demo_step, 4)
            # How many demo steps' worth of batches the pipeline makes in one demo step.
            results["pipeline_speed_over_demo_step"] = round(
                images_per_second / demo_batch * demo_step, 1)

    _parse_paper_gin(image_size)
    batch = _random_triplets(image_size, 1, FLAGS.num_classes)
    results["train_seconds_per_step"] = {}
    results["train_step_times"] = {}
    results["first_step_seconds"] = {}
    results["trace_seconds"] = {}
    results["losses_finite"] = {}
    configurations = ["lsd/single_pass"] + [
        name for name in FLAGS.configurations if name != "lsd/single_pass"]
    model = None
    for name in configurations:
        method, reading = name.split("/")
        count = name == "lsd/single_pass"
        measured, model = time_paper_step(method, reading, batch, steps, FLAGS.warmup,
                                          count_flops=count,
                                          profile_steps=FLAGS.profile_steps if count else 0)
        results["train_seconds_per_step"][name] = round(measured["median"], 3)
        results["train_step_times"][name] = [round(t, 3) for t in measured["times"]]
        results["first_step_seconds"][name] = round(measured["first_step"], 1)
        results["trace_seconds"][name] = round(measured["trace"], 1)
        results["losses_finite"][name] = all(
            np.isfinite(v) for v in measured["losses"].values())
        print(f"{name}: median {measured['median']:.3f} s, first step "
              f"{measured['first_step']:.1f} s", file=sys.stderr)  # progress
        if count:
            results["step_flops"] = measured["flops"]
            results["step_flops_pruned"] = measured["flops_pruned"]
            results["step_flops_by_op"] = measured["flops_by_op"]
            results["unknown_shape_ops"] = measured["unknown_shape_ops"]
            results["profiler_float_ops"] = measured["profiler_flops"]
            results["losses_lsd_single_pass"] = measured["losses"]
            results["profile_lsd_single_pass"] = measured.get("profile")
        if name != configurations[-1]:
            del model
            model = None
            gc.collect()
    results["flop_counting"] = (
        "forward + backward + optimizer of one lsd/single_pass step, counted from the "
        "traced step's graph (tf.function concrete function) by count_graph_flops: "
        "2 x multiply-adds of Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and "
        "MatMul ops from their static shapes; elementwise ops not counted; the graph before "
        "grappler's pruning (an upper bound); step_flops_pruned counts only the ops the "
        "step's outputs and variable updates depend on (what is left after pruning), "
        "the basis of step_gflops_per_second and the utilisation. profiler_float_ops is "
        "tf.compat.v1.profiler's float_operation on the same graph (elementwise ops "
        "included), a cross-check.")
    gflops = results["step_flops_pruned"] / 1e9
    step_rate = gflops / results["train_seconds_per_step"]["lsd/single_pass"]
    results["step_gflops_per_second"] = round(step_rate, 1)
    results["utilisation_of_tf_matmul"] = round(
        step_rate / results["matmul_gflops_per_second"]["tensorflow"], 3)
    if FLAGS.compare_precision:
        results["mixed_bfloat16"] = compare_precision(batch, steps)
    if FLAGS.breakdown:
        results["breakdown_seconds"] = time_breakdown(batch, steps)
    export_size = _size(FLAGS.export_size)
    results["export_size"] = list(export_size)
    results["export_seconds_per_image"] = None
    if "export" not in FLAGS.skip:
        results["export_seconds_per_image"] = round(
            time_export(model, export_size, FLAGS.export_repeats), 3)
    results["peak_rss_gib_this_process"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB, 2)
    # As compile_model set it for the steps above (`compile_model.grappler_memory_optimizer`).
    results["grappler_memory_optimizer"] = graph_rewrites.memory_optimizer_enabled()
    return results


def main(argv):
    del argv
    if FLAGS.precision != "float32":
        import keras  # pylint: disable=import-outside-toplevel
        keras.mixed_precision.set_global_policy(FLAGS.precision)
    if FLAGS.memory_child:
        memory_child()
        return
    results = paper_main() if FLAGS.mode == "paper" else demo_main()
    text = json.dumps(results, indent=2)
    print(text)
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    app.run(main)
