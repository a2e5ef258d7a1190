"""The benchmark's paper mode prints one JSON object with every key (tiny model, 64x64).

The script runs in a subprocess, never imported: its absl flags would clash with those of
other entry points that tests import in the same process.
"""

import json
import os
import subprocess
import sys

import pytest

from gta_keras import flops
from tests import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every key the paper mode's JSON promises (issue 14, item 1).
PAPER_KEYS = (
    "mode", "machine", "gin_files", "gin_bindings", "precision", "image_size",
    "batch_size", "widths", "timed_steps", "train_seconds_per_step",
    "train_step_times", "first_step_seconds", "trace_seconds", "step_flops",
    "flop_counting", "step_gflops_per_second", "matmul_gflops_per_second",
    "utilisation_of_tf_matmul", "export_seconds_per_image", "export_size",
    "pipeline_images_per_second", "demo_lsd_seconds_per_step",
    "pipeline_speed_over_demo_step", "peak_memory_step", "grappler_memory_optimizer")

# Tiny players: the graph traces dominate this test's time, so G and D get no residual
# blocks; the demo's step that the pipeline is compared with gets the same.
SMALL = ["--gin_bindings=generator.blocks_per_stage = 0",
         "--gin_bindings=discriminator.blocks_per_stage = 0"]
SMALL_DEMO = ["--pipeline_gin_bindings=generator.blocks_per_stage = 0",
              "--pipeline_gin_bindings=discriminator.blocks_per_stage = 0"]


# Five graph traces (three steps, the memory child's, the demo's) make this ~60 s on an
# idle 2-core machine and 160 s on a loaded one: marked slow, so `make test-fast` skips it.
@pytest.mark.slow
def test_paper_mode_json_has_every_key(tmp_path, demo_data_dir):
    output = tmp_path / "paper.json"
    command = [sys.executable, os.path.join(ROOT, "scripts", "benchmark.py"),
               "--mode=paper", "--size=64x64", "--width_multiplier=0.03125",
               "--fc_width=8", "--num_classes=3", "--steps=1", "--warmup=1",
               "--memory_size=64x64", "--memory_repeats=2", "--export_size=64x64",
               "--export_repeats=1",
               "--matmul_size=128", "--pipeline_batches=2", "--profile_steps=1",
               f"--output={output}"]
    # The pipeline's speed is measured on the demo pair.
    done = subprocess.run(command + SMALL + SMALL_DEMO, cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=600,
                          env=cli.environment_reading(demo_data_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text())
    assert set(PAPER_KEYS) <= set(results)
    assert results["step_flops"] > 0
    assert results["step_flops_by_op"]["Conv2DBackpropFilter"] > 0
    assert results["unknown_shape_ops"] == 0
    assert set(results["train_seconds_per_step"]) == {
        "lsd/single_pass", "lsd/sequential", "source_only/single_pass"}
    assert all(results["losses_finite"].values())
    memory = results["peak_memory_step"]
    assert len(memory["peak_rss_gib_runs"]) == 2
    assert memory["peak_rss_gib"] == max(memory["peak_rss_gib_runs"]) > 0
    # One more process, under the BFC allocator, counts the tensors.
    assert memory["peak_tensor_gib"] > 0 and memory["peak_rss_gib_under_bfc"] > 0
    # Weights and Adam's slots stay between steps: part of the peak, not all of it.
    assert 0 < memory["tensor_gib_between_steps"] < memory["peak_tensor_gib"]
    live = memory["live_at_peak"]
    # The profiled second step's peak, within the whole process's.
    assert 0 < live["peak_gib"] <= memory["peak_tensor_gib"]
    assert any(part.startswith("backward/") for part in live["live_by_part"]), live
    assert results["peak_memory_step"]["losses_finite"]
    # compile_model's default reached the timed steps and the memory child's.
    assert results["grappler_memory_optimizer"] is False
    assert memory["grappler_memory_optimizer"] is False
    assert results["export_seconds_per_image"] > 0
    assert results.get("pipeline_error") is None, results["pipeline_error"]
    assert results["pipeline_images_per_second"] > 0
    assert results["utilisation_of_tf_matmul"] > 0
    assert results["machine"]["cores"] >= 1
    profile = results["profile_lsd_single_pass"]
    assert {"backward/discriminator", "backward/generator",
            "backward/embedder"} <= set(profile["by_part"]), profile["by_part"]


def test_flop_counter_counts_a_conv_and_its_gradients():
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    kernel = tf.Variable(tf.ones([3, 3, 2, 4]))
    image = tf.Variable(tf.ones([1, 8, 8, 2]))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = tf.nn.conv2d(image, kernel, 1, "SAME")
            loss = tf.reduce_sum(out * out)
        return tape.gradient(loss, [image, kernel])

    total, by_type, unknown = flops.count_graph_flops(
        step.get_concrete_function().graph)
    forward = 2 * 8 * 8 * 4 * 3 * 3 * 2  # 2 x output elements x kernel taps x in channels
    assert by_type == {"Conv2D": forward, "Conv2DBackpropInput": forward,
                       "Conv2DBackpropFilter": forward}
    assert total == 3 * forward and unknown == 0


def test_pruned_flop_count_leaves_out_gradients_nothing_uses():
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    kernel = tf.Variable(tf.ones([3, 3, 2, 4]))
    image = tf.ones([1, 8, 8, 2])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            out = tf.nn.conv2d(image, kernel, 1, "SAME")
            loss = tf.reduce_sum(out * out)
        kernel.assign_sub(0.1 * tape.gradient(loss, kernel))  # the image gets none
        return loss

    concrete = step.get_concrete_function()
    graph = concrete.graph
    forward = 2 * 8 * 8 * 4 * 3 * 3 * 2
    _, everything, _ = flops.count_graph_flops(graph)
    fetches = list(concrete.outputs) + list(graph.control_outputs)
    pruned, needed, unknown = flops.count_graph_flops(graph, fetches)
    assert needed == {"Conv2D": forward, "Conv2DBackpropFilter": forward}
    assert pruned == 2 * forward and unknown == 0
    # The unpruned count holds whatever else TF's gradient function emitted.
    assert set(needed) <= set(everything)
