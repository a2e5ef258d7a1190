"""The machine stamp that every result carries."""

import json

from gta_keras import machine


def test_describe_names_the_cpu_isa_and_versions():
    stamp = machine.describe()
    json.dumps(stamp)  # JSON-ready
    assert set(stamp) >= {"cpu_model", "architecture", "isa", "cores", "tensorflow",
                          "keras", "numpy", "python", "onednn", "intra_op_threads"}
    assert stamp["cores"] >= 1
    assert stamp["tensorflow"].startswith("2.")
    assert all(flag in machine.ISA_FLAGS for flag in stamp["isa"])
    assert stamp["cpu_model"] in machine.one_line(stamp)


def test_vector_tier_names_the_widest_family():
    assert machine.vector_tier(["avx", "avx2", "avx512f", "amx_tile"]) == "AMX"
    assert machine.vector_tier(["avx", "avx2", "fma"]) == "AVX2"
    assert machine.vector_tier([]) == "none"


def test_onednn_follows_its_switch(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert machine.onednn_enabled() is False
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert machine.onednn_enabled() is True
