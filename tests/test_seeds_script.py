"""scripts/seeds.py: per-method summary, markdown table, numeric paths and paired gains.

The script defines its absl flags only when run as a program, so it is imported here
(fake runs write the eval JSONs a real run would; no model is trained).
"""

import json
import math
import os
import sys

import pytest

from gta_keras import errors
from gta_keras import machine
from gta_keras import runners
from gta_keras import runs
from gta_keras import selection
from gta_keras import summaries
from gta_keras import user_errors
from tests import cli

ROOT = cli.ROOT
SMOKE = os.path.join(ROOT, "gin", "smoke.gin")
REPORT = "procedural_streets/realistic:validation"


@pytest.fixture(scope="module")
def seeds():
    return cli.import_script("scripts/seeds.py")


def _run(method, seed, miou, road, sky, step=1500):
    return {"method": method, "seed": seed, "miou": miou,
            "per_class_iou": {"road": road, "sky": sky, "train": None},
            "miou_by_split": {"target:validation": miou, "source:validation": miou + 0.3},
            "checkpoint_step": step, "checkpoint_selection": "best mIoU on target:tuning"}


def test_summary_mean_and_std_per_method_and_class():
    runs = [_run("source_only", 0, 0.10, 0.5, 0.1), _run("source_only", 1, 0.20, 0.7, 0.3),
            _run("lsd", 0, 0.30, 0.8, 0.4)]
    methods = summaries.summarize(runs)
    assert list(methods) == ["source_only", "lsd"]
    assert methods["source_only"]["miou"] == {"mean": pytest.approx(0.15),
                                              "std": pytest.approx(0.05)}
    assert methods["source_only"]["per_class_iou"]["road"]["mean"] == pytest.approx(0.6)
    assert "train" not in methods["source_only"]["per_class_iou"]
    assert methods["lsd"]["num_seeds"] == 1
    assert methods["lsd"]["miou_by_split"]["source:validation"]["mean"] == pytest.approx(0.6)
    table = summaries.per_class_table(methods)
    assert "| class | source_only | lsd |" in table
    assert "| road | 60.0 ± 10.0 | 80.0 ± 0.0 |" in table
    assert "| **mIoU** | **15.0 ± 5.0** | **30.0 ± 0.0** |" in table


def test_a_split_only_some_runs_were_scored_on_is_summarised_over_those():
    # E.g. the unseen domain, scored after training on one run but not yet on the other.
    first, second = _run("lsd", 0, 0.30, 0.8, 0.4), _run("lsd", 1, 0.20, 0.6, 0.2)
    second["miou_by_split"]["procedural_streets/dusk:validation"] = 0.12
    for runs_ in ([first, second], [second, first]):
        splits = summaries.summarize(runs_)["lsd"]["miou_by_split"]
        assert splits["procedural_streets/dusk:validation"] == {
            "mean": pytest.approx(0.12), "std": 0.0, "num_runs": 1}
        assert splits["target:validation"]["num_runs"] == 2
        assert splits["target:validation"]["mean"] == pytest.approx(0.25)


def test_checkpoint_lines_name_each_seeds_step_and_the_rule():
    runs = [_run("source_only", 0, 0.1, 0.5, 0.1, step=1400),
            _run("source_only", 1, 0.2, 0.7, 0.3, step=900), _run("lsd", 0, 0.3, 0.8, 0.4)]
    runs[2].update(weights="ema", segmenter_ema_decay=0.99)
    lines = summaries.checkpoint_lines(runs).splitlines()
    assert "- source_only: 1400, 900 (best mIoU on target:tuning; raw weights)" in lines
    assert ("- lsd: 1500 (best mIoU on target:tuning; moving-average weights, decay 0.99)"
            in lines)


def test_gain_stats_on_known_numbers():
    stats = summaries.gain_stats([1.0, 2.0, 3.0])
    assert stats["pairs"] == 3
    assert stats["mean"] == pytest.approx(2.0)
    assert stats["std"] == pytest.approx(1.0)  # sample std (n - 1)
    assert stats["min"] == pytest.approx(1.0)
    assert stats["positive_share"] == pytest.approx(1.0)
    half = 4.303 * 1.0 / math.sqrt(3)  # t_{0.975, 2}
    assert stats["ci95"] == pytest.approx([2.0 - half, 2.0 + half])
    mixed = summaries.gain_stats([-1.0, 1.0, 2.0, 2.0])
    assert mixed["positive_share"] == pytest.approx(0.75)
    assert mixed["min"] == pytest.approx(-1.0)
    one = summaries.gain_stats([0.5])
    assert one["std"] is None and one["ci95"] is None and one["mean"] == 0.5
    assert summaries.gain_stats([]) is None


def test_t_quantiles_match_the_tables():
    assert summaries.t_quantile_975(1) == pytest.approx(12.706)
    assert summaries.t_quantile_975(14) == pytest.approx(2.145)  # 5 seeds x 3 paths
    assert summaries.t_quantile_975(40) == pytest.approx(2.0211, abs=2e-4)
    assert summaries.t_quantile_975(120) == pytest.approx(1.9799, abs=2e-4)
    with pytest.raises(ValueError):
        summaries.t_quantile_975(0)


def test_gains_pair_runs_of_one_seed_and_path():
    runs_ = [_run("source_only", 0, 0.10, 0.5, 0.1), _run("lsd", 0, 0.12, 0.5, 0.1),
             _run("source_only", 1, 0.10, 0.5, 0.1), _run("lsd", 1, 0.13, 0.5, 0.1),
             _run("lsd", 2, 0.50, 0.5, 0.1)]  # no source-only of seed 2: left out
    for run, path in zip(runs_, ["default", "default", "one_thread", "one_thread",
                                 "default"]):
        run["numerics"] = path
    gains = summaries.paired_gains(runs_)
    assert list(gains) == ["lsd"]
    assert [(p["seed"], p["numerics"]) for p in gains["lsd"]["pairs"]] == [
        (0, "default"), (1, "one_thread")]
    assert [p["gain"] for p in gains["lsd"]["pairs"]] == pytest.approx([0.02, 0.03])
    assert summaries.paired_gains([r for r in runs_ if r["method"] == "lsd"]) == {}


def test_run_folders_keep_todays_names_on_the_default_path():
    assert summaries.run_name("lsd", 2) == "lsd_seed2"
    assert summaries.run_name("lsd", 2, "default") == "lsd_seed2"
    assert summaries.run_name("lsd", 2, "no_onednn") == "lsd_seed2_no_onednn"


# mIoU per (method, seed, path): lsd - source_only is 1, 2, 3 points on the three paths
# of seed 0 and 4, 5, -6 on seed 1.
FAKE = {("source_only", 0): 0.10, ("source_only", 1): 0.20,
        ("lsd", 0, "default"): 0.11, ("lsd", 0, "no_onednn"): 0.12,
        ("lsd", 0, "one_thread"): 0.13, ("lsd", 1, "default"): 0.24,
        ("lsd", 1, "no_onednn"): 0.25, ("lsd", 1, "one_thread"): 0.14}


def _fake_runner(calls):
    """A `subprocess.run` stand-in: keeps (command, env), writes the run's eval JSON with
    the machine stamp's path as the child's environment would make it."""

    def run_fn(command, check, env):
        assert check
        calls.append((command, env))
        workdir = next(a.split("=", 1)[1] for a in command if a.startswith("--workdir="))
        method = next(a for a in command if "build_model.method" in a).split("'")[1]
        seed = int(next(a for a in command if "train.seed" in a).split("=")[-1])
        path = machine.numeric_path(env)
        miou = FAKE.get((method, seed), FAKE.get((method, seed, path)))
        name, split = runs.parse_dataset_spec(REPORT)
        for spec_name, spec_split, score in ((name, split, miou),
                                             ("procedural_streets/synthetic", "validation",
                                              0.3)):
            spec = f"{spec_name}:{spec_split}"
            out = runs.eval_path(workdir, spec)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "w") as f:
                json.dump({"dataset": spec_name, "split": spec_split, "miou": score,
                           "per_class_iou": {"road": score, "train": None},
                           "checkpoint_step": 2, "checkpoint_selection": "last",
                           "method": method, "machine": {"numerics": path}}, f)

    return run_fn


def test_each_numeric_path_is_the_subprocess_environment(seeds, tmp_path, monkeypatch):
    # As on a CPU where TensorFlow turns oneDNN on by default (elsewhere no_onednn would
    # repeat the default path, and the runner refuses it: tests/test_machine.py).
    monkeypatch.setattr(machine, "onednn_by_default", lambda cpu_flags=None: True)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")  # the caller's: not for "default"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    calls = []
    summary = seeds.run([SMOKE], str(tmp_path), seeds=2,
                        numerics=["default", "no_onednn", "one_thread"],
                        run_fn=_fake_runner(calls))
    assert len(calls) == 12
    folders = [os.path.basename(next(a for a in c if a.startswith("--workdir=")))
               for c, _ in calls]
    assert folders[:3] == ["source_only_seed0", "source_only_seed0_no_onednn",
                           "source_only_seed0_one_thread"]
    assert folders[-1] == "lsd_seed1_one_thread"
    for (command, env), path in zip(calls, ["default", "no_onednn", "one_thread"] * 4):
        settings = {k: env.get(k) for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS")}
        assert settings == {"default": {"TF_ENABLE_ONEDNN_OPTS": None,
                                        "TF_NUM_INTRAOP_THREADS": None},
                            "no_onednn": {"TF_ENABLE_ONEDNN_OPTS": "0",
                                          "TF_NUM_INTRAOP_THREADS": None},
                            "one_thread": {"TF_ENABLE_ONEDNN_OPTS": None,
                                           "TF_NUM_INTRAOP_THREADS": "1"}}[path]
        assert env["PATH"] == os.environ["PATH"]  # the rest is inherited
    stats = summary["gains"]["lsd"]["stats"]
    gains = [100 * p["gain"] for p in summary["gains"]["lsd"]["pairs"]]
    assert gains == pytest.approx([1, 2, 3, 4, 5, -6])
    assert stats["mean"] == pytest.approx(0.015)
    assert stats["min"] == pytest.approx(-0.06)
    assert stats["positive_share"] == pytest.approx(5 / 6)
    std = math.sqrt(sum((g - 1.5) ** 2 for g in [1, 2, 3, 4, 5, -6]) / 5) / 100
    assert stats["std"] == pytest.approx(std)
    assert stats["ci95"] == pytest.approx([0.015 - 2.571 * std / math.sqrt(6),
                                           0.015 + 2.571 * std / math.sqrt(6)])
    assert summary["methods"]["lsd"]["miou_by_numerics"]["one_thread"]["mean"] == (
        pytest.approx(0.135))
    assert summary["methods"]["lsd"]["num_runs"] == 6
    assert summary["methods"]["lsd"]["num_seeds"] == 2
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["numerics"] == ["default", "no_onednn", "one_thread"]
    assert saved["machine"]["numerics"] == "default, no_onednn, one_thread"
    assert [r["stamped_numerics"] for r in saved["runs"]][:3] == [
        "default", "no_onednn", "one_thread"]
    text = (tmp_path / "summary.md").read_text()
    assert ("mean ± std (std with n in the denominator) over 2 seeds × numeric paths "
            "default, no_onednn, one_thread") in text
    assert "| 1 | one_thread | 20.0 | 14.0 | -6.0 |" in text
    assert "mean +1.5" in text and "min -6.0" in text and "lsd ahead in 83%" in text
    assert "numeric path" in text and "Runs on another numeric path" not in text


def test_default_path_reuses_existing_folders_and_flags_a_mismatched_stamp(seeds, tmp_path):
    calls = []
    seeds.run([SMOKE], str(tmp_path), seeds=1, run_fn=_fake_runner(calls))
    assert sorted(os.listdir(tmp_path)) == ["lsd_seed0", "source_only_seed0", "summary.json",
                                           "summary.md"]
    # A default-path folder whose evaluation ran with oneDNN off is named in the summary.
    path = runs.eval_path(str(tmp_path / "lsd_seed0"), REPORT)
    result = json.loads(open(path).read())
    result["machine"]["numerics"] = "no_onednn"
    rerun = []

    def keep_json(command, check, env):
        rerun.append(command)
        if "lsd_seed0" in command[3]:
            with open(path, "w") as f:
                json.dump(result, f)
        else:
            _fake_runner([])(command, check, env)

    summary = seeds.run([SMOKE], str(tmp_path), seeds=1, run_fn=keep_json)
    assert len(rerun) == 2 and "--workdir=" + str(tmp_path / "lsd_seed0") in rerun[1]
    text = (tmp_path / "summary.md").read_text()
    assert "1 seed (default numerics)" in text
    assert ("lsd seed 0: asked for default, its eval JSON's machine stamp says no_onednn"
            in text)
    assert summary["gains"]["lsd"]["stats"]["ci95"] is None  # one pair


def test_a_finished_run_is_scored_again_and_keeps_its_training_time(seeds, tmp_path):
    calls = []
    seeds.run([SMOKE], str(tmp_path), seeds=1, run_fn=_fake_runner(calls))
    kept = tmp_path / "lsd_seed0" / runners.SECONDS_FILE
    assert kept.exists()  # the first invocation trained it and kept its wall time
    kept.write_text(json.dumps({"seconds": 1234.0}))  # as if training took that long
    os.remove(tmp_path / "source_only_seed0" / runners.SECONDS_FILE)  # from before it was kept
    summary = seeds.run([SMOKE], str(tmp_path), seeds=1, run_fn=_fake_runner(calls))
    assert len(calls) == 4  # both evaluated again
    assert [r["seconds"] for r in summary["runs"]] == [None, 1234.0]
    assert json.loads(kept.read_text()) == {"seconds": 1234.0}  # not this evaluation's


def test_oracle_runs_are_marked_and_refused_without_the_flag(seeds, tmp_path):
    def oracle_lsd(command, check, env):
        _fake_runner([])(command, check, env)
        if "lsd_seed0" in command[3]:  # lsd chose its checkpoint on target labels
            path = runs.eval_path(command[3].split("=", 1)[1], REPORT)
            result = json.loads(open(path).read())
            result.update(oracle=True, selection_split="procedural_streets/realistic:tuning")
            with open(path, "w") as f:
                json.dump(result, f)

    summary = seeds.run([SMOKE], str(tmp_path), seeds=1, run_fn=oracle_lsd)
    assert summary["oracle"] is True
    assert [r["oracle"] for r in summary["runs"]] == [False, True]
    text = (tmp_path / "summary.md").read_text()
    assert text.startswith("**Oracle checkpoint choice**")
    assert "| class | source_only | lsd (oracle) |" in text
    bindings = ["checkpoint_selection.rule = 'best'",
                "checkpoint_selection.dataset = 'procedural_streets/realistic:tuning'"]
    with pytest.raises(selection.OracleSelectionError, match="target"):
        seeds.run([SMOKE], str(tmp_path / "refused"), seeds=1, gin_bindings=bindings,
                  run_fn=None)
    # With the flag it runs; the runs' eval JSONs carry the stamp.
    allowed = seeds.run([SMOKE], str(tmp_path / "allowed"), seeds=1,
                        gin_bindings=bindings + ["checkpoint_selection.oracle = True"],
                        run_fn=_fake_runner([]))
    assert allowed["gin_bindings"][-1] == "checkpoint_selection.oracle = True"


def test_eval_jsons_from_before_the_oracle_stamp_are_not_taken_for_label_free(tmp_path):
    for seed, chosen in ((0, "last"), (1, "best mIoU on procedural_streets/realistic:tuning")):
        path = runs.eval_path(str(tmp_path / f"run{seed}"), REPORT)
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:  # no "oracle" nor "selection_split": an older JSON
            json.dump({"dataset": "procedural_streets/realistic", "split": "validation",
                       "miou": 0.1, "per_class_iou": {"road": 0.1}, "checkpoint_step": 2,
                       "checkpoint_selection": chosen, "method": "lsd"}, f)
    old = [summaries.run_record("lsd", seed, str(tmp_path / f"run{seed}"), REPORT)
           for seed in (0, 1)]
    assert [r["oracle"] for r in old] == [False, None]
    assert [r["weights"] for r in old] == ["raw", "raw"]  # Scored before averaging existed.
    assert old[1]["selection_split"] == "procedural_streets/realistic:tuning"
    assert summaries.any_oracle(old) is None
    assert summaries.any_oracle(old[:1]) is False
    assert summaries.any_oracle(old + [dict(old[0], oracle=True)]) is True
    assert summaries.method_label("lsd", summaries.summarize(old)["lsd"]) == "lsd (oracle?)"
    text = summaries.oracle_text(old)
    assert text.startswith("**Checkpoint choice not known to be label-free**: 1 of 2 runs")
    assert "lsd seed 1 on procedural_streets/realistic:tuning" in text
    assert "not known to be label-free" in summaries.checkpoint_lines(old)


def test_a_bad_binding_stops_the_runner_in_one_line_before_any_run(seeds, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(sys, "argv", [os.path.join("scripts", "seeds.py")])
    with pytest.raises(SystemExit) as stop:
        with user_errors.exit_in_one_line():  # as main() runs run()
            seeds.run([SMOKE], str(tmp_path), gin_bindings=["train.stepz = 3"], run_fn=None)
    message = str(stop.value.code)
    assert message.startswith("seeds: bad gin configuration: Configurable 'train' doesn't "
                              "have a parameter named 'stepz'."), message
    assert not os.listdir(tmp_path)


def test_unknown_numeric_path_fails_before_any_run(seeds, tmp_path):
    with pytest.raises(ValueError, match="Unknown numeric path 'avx2'"):
        seeds.run([SMOKE], str(tmp_path), numerics=["default", "avx2"], run_fn=None)


def test_a_path_that_repeats_the_default_fails_before_any_run(seeds, tmp_path, monkeypatch):
    # An AVX2-only CPU: TensorFlow leaves oneDNN off by default, so no_onednn is "default".
    monkeypatch.setattr(machine, "onednn_by_default", lambda cpu_flags=None: False)
    with pytest.raises(ValueError, match="'no_onednn' repeats 'default'"):
        seeds.run([SMOKE], str(tmp_path), numerics=["default", "no_onednn"], run_fn=None)
    assert not os.listdir(tmp_path)


def test_a_seed_list_runs_those_seeds_in_its_order(seeds, tmp_path):
    calls = []
    summary = seeds.run([SMOKE], str(tmp_path), seeds=5, seed_list=["1", "0"],
                        run_fn=_fake_runner(calls))
    folders = [os.path.basename(next(a for a in c if a.startswith("--workdir=")))
               for c, _ in calls]
    assert folders == ["source_only_seed1", "source_only_seed0", "lsd_seed1", "lsd_seed0"]
    assert summary["seeds"] == 2 and summary["seed_list"] == [1, 0]
    assert "2 seeds (1, 0) (default numerics)" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize("seed_list, match", [
    (["4", "x"], r"--seed_list=4,x: 'x' is not a seed"),
    (["-1"], r"'-1' is not a seed"),
    (["2", "2"], r"--seed_list=2,2 names a seed twice"),
])
def test_a_bad_seed_list_fails_before_any_run(seeds, tmp_path, seed_list, match):
    with pytest.raises(ValueError, match=match):
        seeds.run([SMOKE], str(tmp_path), seed_list=seed_list, run_fn=None)
    assert not os.listdir(tmp_path)


def test_summarize_only_runs_nothing_and_names_the_runs_left_out(seeds, tmp_path):
    seeds.run([SMOKE], str(tmp_path), seeds=2, seed_list=["1"], run_fn=_fake_runner([]))
    summary = seeds.run([SMOKE], str(tmp_path), seeds=2, summarize_only=True, run_fn=None)
    assert [(r["method"], r["seed"]) for r in summary["runs"]] == [("source_only", 1),
                                                                    ("lsd", 1)]
    assert summary["left_out"] == ["source_only seed 0 (default)", "lsd seed 0 (default)"]
    assert summary["seeds"] == 1 and summary["seed_list"] == [1]
    text = (tmp_path / "summary.md").read_text()
    assert "over 1 seed (1) (default numerics)" in text
    assert ("Not finished, left out (--summarize_only): source_only seed 0 (default), "
            "lsd seed 0 (default).") in text
    assert summary["gains"]["lsd"]["pairs"][0]["gain"] == pytest.approx(0.04)


def test_summarize_only_without_a_finished_run_says_so(seeds, tmp_path):
    with pytest.raises(errors.ConfigurationError, match="No finished run in .* to summarise"):
        seeds.run([SMOKE], str(tmp_path), seeds=1, summarize_only=True, run_fn=None)
    assert not os.listdir(tmp_path)
