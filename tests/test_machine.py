"""The machine stamp that every result carries."""

import json
import os
import platform
import re
import subprocess
import sys

import pytest

from gta_keras import machine
from gta_keras import summaries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_describe_names_the_cpu_isa_and_versions():
    stamp = machine.describe()
    json.dumps(stamp)  # JSON-ready
    assert set(stamp) >= {"cpu_model", "architecture", "isa", "cores", "tensorflow",
                          "keras", "numpy", "python", "onednn", "intra_op_threads",
                          "inter_op_threads"}
    assert stamp["cores"] >= 1
    assert stamp["tensorflow"].startswith("2.")
    assert all(flag in machine.ISA_FLAGS for flag in stamp["isa"])
    assert stamp["cpu_model"] in machine.one_line(stamp)
    if platform.system() == "Linux" and platform.machine() == "x86_64":
        # Family and model tell AMD's generations apart ("AMD EPYC" is all the name says).
        assert re.fullmatch(r"\d+/\d+", stamp["cpu_family_model"]), stamp
        assert f"family/model {stamp['cpu_family_model']}" in machine.one_line(stamp)


def test_vector_tier_names_the_widest_family():
    assert machine.vector_tier(["avx", "avx2", "avx512f", "amx_tile"]) == "AMX"
    assert machine.vector_tier(["avx", "avx2", "fma"]) == "AVX2"
    assert machine.vector_tier([]) == "none"


_ONEDNN_STAMP = """
import json
from gta_keras import machine
print(json.dumps([machine.onednn_enabled(), machine.onednn_by_default()]))
"""


def test_the_onednn_stamp_is_tensorflows_own_switch():
    """TF reads TF_ENABLE_ONEDNN_OPTS once per process: one process per setting, at once.
    Unset, TF's default must be what `onednn_by_default` predicts from this CPU's flags (on
    an AVX2-only CPU, off: the stamp said "on" there until 2026-12-06)."""
    settings = (None, "0", "1")
    processes = []
    for setting in settings:
        env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
        if setting is not None:
            env["TF_ENABLE_ONEDNN_OPTS"] = setting
        processes.append(subprocess.Popen([sys.executable, "-c", _ONEDNN_STAMP], cwd=ROOT,
                                          env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    stamps = {}
    for setting, process in zip(settings, processes):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        stamps[setting] = json.loads(out.strip().splitlines()[-1])
    enabled, by_default = stamps[None]
    if by_default is None:
        pytest.skip("TF's default oneDNN rule is known here for Linux x86 only")
    assert enabled is by_default, (machine.describe()["isa"], stamps)
    assert stamps["0"][0] is False
    assert stamps["1"][0] is True


def test_without_tensorflows_switch_the_stamp_follows_its_rule(monkeypatch):
    monkeypatch.setattr(machine, "_tensorflow_onednn_switch", lambda: None)  # as if moved
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert machine.onednn_enabled() is False
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert machine.onednn_enabled() is True
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    assert machine.onednn_enabled() is bool(machine.onednn_by_default())


def test_the_onednn_default_follows_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(machine.platform, "system", lambda: "Linux")
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    assert machine.onednn_by_default({"avx", "avx2", "fma"}) is False  # AMD EPYC Zen 3
    assert machine.onednn_by_default({"avx2", "avx512f", "avx512_vnni"}) is True  # Zen 4
    assert machine.onednn_by_default({"avx2", "amx_tile"}) is True  # Xeon with AMX
    monkeypatch.setattr(machine.platform, "machine", lambda: "aarch64")
    assert machine.onednn_by_default({"asimd"}) is None


def test_the_onednn_path_that_repeats_the_default_is_refused(monkeypatch):
    monkeypatch.setattr(machine.platform, "system", lambda: "Linux")
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    avx2, vnni = {"avx2", "fma"}, {"avx2", "avx512f", "avx512_vnni"}
    with pytest.raises(ValueError, match="'no_onednn' repeats 'default'.*Take 'onednn'"):
        machine.check_numerics(["default", "no_onednn", "one_thread"], avx2)
    with pytest.raises(ValueError, match="'onednn' repeats 'default'.*Take 'no_onednn'"):
        machine.check_numerics(["default", "one_thread", "onednn"], vnni)
    machine.check_numerics(["default", "one_thread", "onednn"], avx2)
    machine.check_numerics(["default", "no_onednn", "one_thread"], vnni)
    machine.check_numerics(["no_onednn", "onednn"], avx2)  # neither is "default"


def test_a_runs_onednn_state_follows_its_path_and_the_summary_says_it(monkeypatch):
    monkeypatch.setattr(machine.platform, "system", lambda: "Linux")
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    avx2, vnni = {"avx2", "fma"}, {"avx2", "avx512f", "avx512_vnni"}
    on_path = {path: (machine.onednn_on_path(path, avx2), machine.onednn_on_path(path, vnni))
               for path in machine.NUMERIC_PATHS}
    assert on_path == {"default": (False, True), "no_onednn": (False, False),
                       "one_thread": (False, True), "onednn": (True, True)}
    # A runner's summary: its runs' state, not the runner's own (oneDNN on here).
    monkeypatch.setattr(machine, "onednn_by_default", lambda cpu_flags=None: True)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")  # the runner's shell, not its runs'
    alone = summaries.runs_machine(["no_onednn"])
    assert alone["onednn"] is False and "oneDNN off, numerics no_onednn" in machine.one_line(
        alone)
    mixed = summaries.runs_machine(["default", "no_onednn", "one_thread"])
    assert mixed["onednn"] == {"default": True, "no_onednn": False, "one_thread": True}
    assert ("oneDNN on (default, one_thread), off (no_onednn), numerics default, no_onednn, "
            "one_thread") in machine.one_line(mixed)
    assert summaries.runs_machine(["default", "one_thread"])["onednn"] is True


def test_each_numeric_path_is_its_environment():
    inherited = {"PATH": "/bin", "TF_ENABLE_ONEDNN_OPTS": "0", "TF_NUM_INTRAOP_THREADS": "4"}
    default = machine.numerics_env("default", inherited)
    assert default == {"PATH": "/bin"}  # the caller's settings do not leak into "default"
    assert machine.numerics_env("no_onednn", inherited) == {
        "PATH": "/bin", "TF_ENABLE_ONEDNN_OPTS": "0"}
    assert machine.numerics_env("one_thread", inherited) == {
        "PATH": "/bin", "TF_NUM_INTRAOP_THREADS": "1"}
    assert machine.numerics_env("onednn", inherited) == {
        "PATH": "/bin", "TF_ENABLE_ONEDNN_OPTS": "1"}
    assert inherited["TF_NUM_INTRAOP_THREADS"] == "4"  # a copy
    for path in machine.NUMERIC_PATHS:
        assert machine.numeric_path(machine.numerics_env(path, inherited)) == path
    assert machine.numeric_path(inherited) == (
        "custom: TF_ENABLE_ONEDNN_OPTS=0, TF_NUM_INTRAOP_THREADS=4")
    with pytest.raises(ValueError, match="Unknown numeric path 'fast'"):
        machine.numerics_env("fast")
    with pytest.raises(ValueError, match="twice"):
        machine.check_numerics(["default", "default"])


def test_intra_op_threads_prefer_tf_config_then_the_environment():
    assert machine.intra_op_threads(3, {"TF_NUM_INTRAOP_THREADS": "1"}) == 3
    assert machine.intra_op_threads(0, {"TF_NUM_INTRAOP_THREADS": "1"}) == 1
    assert machine.intra_op_threads(0, {}) == 0
    assert machine.intra_op_threads(0, {"TF_NUM_INTRAOP_THREADS": "many"}) == 0


def test_inter_op_threads_read_their_own_variable():
    assert machine.inter_op_threads(0, {"TF_NUM_INTEROP_THREADS": "1"}) == 1
    assert machine.inter_op_threads(0, {"TF_NUM_INTRAOP_THREADS": "1"}) == 0
    assert machine.inter_op_threads(2, {"TF_NUM_INTEROP_THREADS": "1"}) == 2


def test_the_stamp_names_this_process_numeric_path(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "1")
    stamp = machine.describe()
    assert stamp["numerics"] == "one_thread"
    assert stamp["intra_op_threads"] == 1
    assert "numerics one_thread" in machine.one_line(stamp)


# Counts, every 2 ms while a chain of matmuls runs, the process's threads that are running
# or runnable (state R in /proc): a count made by the scheduler's state, not by timing, so a
# loaded machine does not change it. Measured on 2 cores: 2 or more in 88% of the samples on
# the default path (and on no_onednn), 3-4% under one_thread.
_RUNNABLE_THREADS = """
import json, os, threading, time
import tensorflow as tf
from gta_keras import machine
x = tf.random.normal([1000, 1000])
f = tf.function(lambda x: tf.reduce_sum(x @ x @ x @ x))
f(x).numpy()
counts, done = [], threading.Event()
def sample():
    me = str(threading.get_native_id())
    while not done.is_set():
        running = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as stat:
                    running += tid != me and stat.read().rsplit(")", 1)[1].split()[0] == "R"
            except OSError:  # the thread ended
                pass
        counts.append(running)
        time.sleep(0.002)
sampler = threading.Thread(target=sample)
sampler.start()
for _ in range(15):
    f(x).numpy()
done.set()
sampler.join()
print(json.dumps({"parallel_share": sum(c >= 2 for c in counts) / len(counts),
                  "numerics": machine.describe()["numerics"]}))
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not os.path.isdir("/proc/self/task"),
                    reason="needs 2 cores (one thread is then not the default) and /proc")
def test_one_thread_path_runs_tensorflow_ops_on_one_thread():
    """TF reads TF_NUM_INTRAOP_THREADS itself (tf.config's getter does not show it): under
    the one_thread path's environment the matmuls seldom have two threads at work."""
    result = subprocess.run([sys.executable, "-c", _RUNNABLE_THREADS], capture_output=True,
                            text=True, env=machine.numerics_env("one_thread"), timeout=300,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["numerics"] == "one_thread"
    assert measured["parallel_share"] < 0.3, measured
