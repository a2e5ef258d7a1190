"""MirroredStrategy on 2 logical CPU devices trains as one device on the same global batch.

TensorFlow fixes its logical devices when it initialises, and pytest runs many tests in one
process, so the comparison runs in a fresh `python -c` process.
"""

import json
import subprocess
import sys

import pytest

from gta_keras import distribution
from tests import cli

# Trains `experiment.train` twice on the same 3 batches of 4 triplets, from the same
# initial weights: on the default strategy, and with distribution.strategy = 'mirrored'
# over 2 logical CPUs (2 triplets per replica). Dropout is off: each replica draws its
# own masks. The players step with plain SGD, not training's Adam: what distribution
# changes is the gradients (each replica's half, summed, scaled by the global batch), and
# SGD's update is the gradient times the rate, so a wrong scale or a missing sum shows
# in full. Adam divides each gradient by its own running scale, which hides a scale
# error and turns a gradient that is only rounding (a cancellation) into a whole step of
# +-lr: with Adam, the two runs' weights ended 1% of their update apart on an AVX2-only
# AMD EPYC (per-replica kernels of batch 2 round otherwise than batch 4), past this
# test's tolerance; with SGD, 0.08%, as much as reversing each batch's order gives on
# one device. An optional third argument turns on the moving average of F and C with that
# decay. Prints the largest weight difference, both runs' logs, the average's checkpoint
# entries and the largest difference between the replicas' copies of a shadow as JSON.
_SCRIPT = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import gin, keras, numpy as np
from gta_keras import averaging, checkpoints, experiment
from tests import tiny

METHOD = sys.argv[1]
DECAY = float(sys.argv[3]) if len(sys.argv) > 3 else None
STEPS = 3

def model_fn():
    model = tiny.model(method=METHOD)
    for part in ("embedder", "classifier", "generator", "discriminator"):
        for layer in getattr(model, part).layers if getattr(model, part) else ():
            if hasattr(layer, "rate"):
                layer.rate = 0.0
    lsd = METHOD == "lsd"
    sgd = lambda: keras.optimizers.SGD(1e-5)  # Updates of up to ~1e-3 in 3 steps.
    # Compiled again without run_eagerly: graph mode, as training.
    model.compile(sgd(), sgd() if lsd else None, sgd() if lsd else None,
                  segmenter_ema_decay=DECAY)
    return model

def dataset_fn(before_reading, start_step=0, **unused):
    before_reading()
    batches = [tiny.batch(batch_size=4, seed=s) for s in range(STEPS)]
    return tf.data.Dataset.from_tensor_slices(
        tuple(tf.stack(x) for x in zip(*batches))).repeat()

def run(strategy, workdir):
    gin.clear_config()
    gin.bind_parameter("distribution.strategy", strategy)
    model, checkpointer = experiment.train(workdir, steps=STEPS, steps_per_epoch=STEPS,
                                           verbose=0, deterministic=True,
                                           dataset_fn=dataset_fn, model_fn=model_fn)
    replicas = model.distribute_strategy.num_replicas_in_sync
    reader = tf.train.load_checkpoint(checkpointer.manager.latest_checkpoint)
    tensors = {name: reader.get_tensor(name)
               for name in reader.get_variable_to_shape_map()
               if "OBJECT_GRAPH" not in name}
    logs = {name: float(np.ravel(m.result())[0]) for name, m in model.trackers.items()
            if m.count.numpy() > 0}
    spread = 0.0  # Between the replicas' copies of each shadow: 0 when they agree.
    swap = None  # Whether scoring's swap puts the shadows into every replica's F and C.
    if DECAY:
        copies = lambda v: [c.numpy() for c in getattr(v, "values", [v])]
        for shadow in model.segmenter_average.shadows:
            spread = max([spread] + [float(np.max(np.abs(c - copies(shadow)[0])))
                                     for c in copies(shadow)])
        weights = [v.value for v in model.player_variables("segmenter")]
        raw = [copies(w) for w in weights]
        shadows = [copies(s)[0] for s in model.segmenter_average.shadows]
        with averaging.weights_in(model, "ema"):
            swap = all(np.array_equal(c, s) for w, s in zip(weights, shadows)
                       for c in copies(w))
        swap = swap and all(np.array_equal(c, r) for w, before in zip(weights, raw)
                            for c, r in zip(copies(w), before))
    return replicas, tensors, logs, spread, swap

root = sys.argv[2]
one_replicas, one, one_logs, _, _ = run("default", root + "/one")
two_replicas, two, two_logs, replica_spread, swap = run("mirrored", root + "/two")
assert one.keys() == two.keys()
floats = [n for n in one if np.issubdtype(one[n].dtype, np.floating)]
diff = max(float(np.max(np.abs(one[n] - two[n]))) if one[n].size else 0.0 for n in floats)
relative = max(float(np.max(np.abs(one[n] - two[n]) / (np.abs(one[n]) + 1e-6)))
               if one[n].size else 0.0 for n in floats)
scale = max(float(np.max(np.abs(one[n]))) if one[n].size else 0.0 for n in floats)
steps = {n: int(one[n]) for n in one if n.endswith("iterations/.ATTRIBUTES/VARIABLE_VALUE")}
steps_two = {n: int(two[n]) for n in two if n.endswith("iterations/.ATTRIBUTES/VARIABLE_VALUE")}
print(json.dumps({"replicas": [one_replicas, two_replicas], "max_weight_diff": diff,
                  "max_abs_weight": scale, "max_relative_diff": relative, "variables": len(floats),
                  "steps": [steps, steps_two], "logs": [one_logs, two_logs],
                  "average": sorted(n for n in one if n.startswith("segmenter_average/")),
                  "updates": [int(t["segmenter_average/updates/.ATTRIBUTES/VARIABLE_VALUE"])
                              for t in (one, two) if DECAY],
                  "replica_spread": replica_spread, "swap": swap}))
"""


@pytest.mark.parametrize("method", ["lsd", "source_only"])
def test_mirrored_on_two_devices_trains_as_one_device(tmp_path, method):
    result = cli.run([sys.executable, "-c", _SCRIPT, method, str(tmp_path)], timeout=600)
    cli.assert_ok(result)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    assert report["replicas"] == [1, 2]
    assert report["steps"][0] == report["steps"][1]
    assert set(report["steps"][0].values()) == {3}
    assert report["variables"] > 10
    # Float tolerance: the two runs add the same numbers in another order.
    assert report["max_weight_diff"] <= 1e-5 * max(1.0, report["max_abs_weight"])
    one_logs, two_logs = report["logs"]
    assert one_logs.keys() == two_logs.keys() and one_logs
    for name in one_logs:
        assert two_logs[name] == pytest.approx(one_logs[name], rel=1e-5), name


def test_the_moving_average_on_two_devices_is_the_one_device_average(tmp_path):
    """The shadows of F and C under MirroredStrategy (made in its scope, written from the
    first replica) equal the one-device run's, the replicas' copies are identical, and
    swapping them in for scoring reaches every replica's F and C and swaps back."""
    result = cli.run([sys.executable, "-c", _SCRIPT, "source_only", str(tmp_path), "0.5"],
                     timeout=600)
    cli.assert_ok(result)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    assert report["replicas"] == [1, 2]
    average = report["average"]
    assert "segmenter_average/updates/.ATTRIBUTES/VARIABLE_VALUE" in average
    assert len([name for name in average if "/shadows/" in name]) > 10
    # The shadows are among the compared tensors (every float tensor of the checkpoint).
    assert report["max_weight_diff"] <= 1e-5 * max(1.0, report["max_abs_weight"])
    assert report["updates"] == [3, 3]
    assert report["replica_spread"] == 0.0
    assert report["swap"] is True  # Scoring's swap in and out, on every replica.


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown distribution.strategy 'gpus'"):
        distribution.make_strategy("gpus")


def _free_ports(count):
    import socket  # pylint: disable=import-outside-toplevel
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_on_loopback_train_through_the_cli(tmp_path, demo_data_dir):
    """Two `gta_keras.main` processes, MultiWorkerMirroredStrategy from TF_CONFIG, write
    one checkpoint (the chief's) that a one-device run restores and evaluates; the other
    worker's scratch folders are gone afterwards."""
    import os  # pylint: disable=import-outside-toplevel
    workdir = tmp_path / "run"
    scratch = tmp_path / "tmp"  # Each worker's TMPDIR: where a non-chief saves.
    scratch.mkdir()
    data_dir = demo_data_dir  # Read by both workers, as on a shared disk.
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}),
            TMPDIR=str(scratch))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gta_keras.main", "--gin_file=gin/smoke.gin",
             f"--workdir={workdir}", f"--data_dir={data_dir}",
             "--mode=train", "--gin_bindings=distribution.strategy = 'multi_worker'",
             "--gin_bindings=train.verbose = 2"],  # One line per epoch.
            cwd=cli.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    try:
        outputs = [p.communicate(timeout=600) for p in processes]
    finally:  # A hung worker must not outlive the test (SIGKILL: TF catches SIGTERM).
        for process in processes:
            process.kill()
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, out[-2000:] + err[-4000:]
    assert sorted(os.listdir(workdir / "checkpoints")) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
        "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    assert not [name for name in os.listdir(scratch) if name.startswith("gta_keras_")]
    # Both workers ran the same synchronous steps: their last epoch lines agree.
    assert _last_epoch_line(outputs[0][0]) == _last_epoch_line(outputs[1][0]) != ""
    evaluated = cli.run_cli("--gin_file=gin/smoke.gin", f"--workdir={workdir}",
                            f"--data_dir={data_dir}", "--mode=evaluate")
    cli.assert_ok(evaluated)
    assert "checkpoint step 2" in evaluated.stdout


def _last_epoch_line(output):
    """The last Keras epoch line ("2/2 - 5s - ... d_loss: ... seg_loss: ...") without its
    timings, which differ between workers."""
    lines = [line for line in output.splitlines() if "seg_loss:" in line]
    return lines[-1].split("/step - ", 1)[-1] if lines else ""
