"""Exact resume and crash safety through the real command line, as subprocesses.

One smoke run is SIGKILLed at seeded random moments (after it passes the middle, then at
any moment after its next checkpoint: mid-step or mid-save), restarted after each kill,
and finally finishes; another trains STEPS steps straight. With
`train.deterministic = True` its final checkpoint, every weight of F, C, G and D, every
optimizer slot and dropout's random states, equals the straight run's bit for bit: the
resumed runs trained on the same batches in the same order.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from gta_keras import checkpoints
from tests import cli

pytestmark = pytest.mark.slow

STEPS = 6
KILLS = 2
SEED = 15


def _command(workdir, data_dir):
    return [sys.executable, "-m", "gta_keras.main", "--gin_file=gin/smoke.gin",
            f"--workdir={workdir}", f"--data_dir={data_dir}", "--mode=train",
            f"--gin_bindings=train.steps = {STEPS}",
            "--gin_bindings=train.deterministic = True"]


def _kill_after_progress(command, directory, past_step, delay):
    """Starts `command`; SIGKILLs it `delay` s after its newest checkpoint passes
    `past_step`. Returns the newest checkpoint's step once it is dead."""
    process = subprocess.Popen(command, cwd=cli.ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while checkpoints.latest_step(directory) <= past_step:
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.005)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    return checkpoints.latest_step(directory)


def _tensors(workdir):
    path = tf.train.latest_checkpoint(checkpoints.checkpoint_directory(str(workdir)))
    assert path.endswith(f"ckpt-{STEPS}"), path
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if "OBJECT_GRAPH" not in name}


def _assert_every_weight_and_slot_is_saved(tensors):
    """Each optimizer's entries hold its player's weights and Adam's two slots per weight,
    and dropout's random states are there: the comparison covers every one of them."""
    for optimizer in ("f_optimizer", "f_bias_optimizer", "g_optimizer", "d_optimizer"):
        weights = [n for n in tensors if n.startswith(f"{optimizer}/_trainable_variables/")]
        slots = [n for n in tensors if n.startswith(f"{optimizer}/_variables/")]
        assert weights and len(slots) == 2 * len(weights), (optimizer, len(weights),
                                                             len(slots))
    assert any(n.startswith("seed_states/") for n in tensors)


def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path, demo_data_dir):
    data_dir = demo_data_dir
    resumed = tmp_path / "resumed"
    directory = checkpoints.checkpoint_directory(str(resumed))
    rng = random.Random(SEED)
    # The straight run trains beside the resumed ones.
    kills = [_kill_after_progress(_command(resumed, data_dir), directory, STEPS // 2 - 1,
                                  rng.uniform(0.0, 0.3))]
    straight = tmp_path / "straight"
    straight_run = subprocess.Popen(_command(straight, data_dir), cwd=cli.ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
    while len(kills) < KILLS and kills[-1] < STEPS:
        kills.append(_kill_after_progress(_command(resumed, data_dir), directory,
                                          kills[-1], rng.uniform(0.0, 0.3)))
    print("killed with newest checkpoints at steps", kills)
    assert kills[0] < STEPS, "the first kill came after the run had finished"
    # Each restart restored what the kill left; the last one finishes the run.
    cli.assert_ok(cli.run(_command(resumed, data_dir), timeout=600))
    _, errors = straight_run.communicate(timeout=600)
    assert straight_run.returncode == 0, errors[-3000:]

    expected, actual = _tensors(straight), _tensors(resumed)
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(tf.train.load_checkpoint(
        tf.train.latest_checkpoint(directory)).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    assert {child.local_name for child in graph.nodes[0].children} >= {
        "embedder", "classifier", "generator", "discriminator", "f_optimizer",
        "f_bias_optimizer", "g_optimizer", "d_optimizer", "seed_states"}
    assert expected.keys() == actual.keys()
    _assert_every_weight_and_slot_is_saved(expected)
    for name in sorted(expected):
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)
