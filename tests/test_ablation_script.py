"""scripts/ablation.py: the Table 4 math on fake eval JSONs, resuming, one real run."""

import json
import os
import subprocess
import sys

import pytest

from gta_keras import errors
from gta_keras import runs
from gta_keras import selection
from tests import cli

ROOT = cli.ROOT
SMOKE = os.path.join(ROOT, "gin", "smoke.gin")
REPORT = "procedural_streets/realistic:validation"


@pytest.fixture(scope="module")
def ablation():
    return cli.import_script("scripts/ablation.py")


def _write_eval(run_dir, method, miou, step=2, spec=REPORT, oracle=False):
    name, split = runs.parse_dataset_spec(spec)
    chosen_on = "procedural_streets/realistic:tuning" if oracle else None
    path = runs.eval_path(run_dir, spec)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"dataset": name, "split": split, "miou": miou,
                   "per_class_iou": {"road": miou + 0.1, "train": None},
                   "checkpoint_step": step,
                   "checkpoint_selection": f"best mIoU on {chosen_on}" if oracle else "last",
                   "selection_split": chosen_on, "oracle": oracle,
                   "method": method, "reads_target_labels": method == "target_only"}, f)


# mIoU per method and seed: source-only 0.20 ± 0.02, target-only 0.60 ± 0.0, ...
FAKE = {"source_only": (0.18, 0.22), "feature_d": (0.24, 0.28), "global_d": (0.30, 0.30),
        "no_aux": (0.34, 0.34), "lsd": (0.40, 0.44), "target_only": (0.60, 0.60)}


def _fake_runner(calls, envs=None, oracle=()):
    """A `subprocess.run` stand-in: writes the eval JSON the real run would (and keeps
    each call's environment in `envs`); the methods in `oracle` chose on target labels."""

    def run_fn(command, check, env):
        assert check
        calls.append(command)
        if envs is not None:
            envs.append(env)
        workdir = next(a.split("=", 1)[1] for a in command if a.startswith("--workdir="))
        layer = [a for a in command if a.startswith("--gin_file=")][-1]
        method = os.path.basename(layer)[:-len(".gin")]
        seed = int(next(a for a in command if "train.seed" in a).split("=")[-1])
        _write_eval(workdir, method, FAKE[method][seed], oracle=method in oracle)

    return run_fn


def test_table_mean_std_and_gap_closed(ablation, tmp_path):
    calls = []
    summary = ablation.run([SMOKE], str(tmp_path), seeds=2, run_fn=_fake_runner(calls))
    assert len(calls) == 12
    methods = summary["methods"]
    assert list(methods) == list(ablation.ORDER)
    assert methods["source_only"]["miou"]["mean"] == pytest.approx(0.20)
    assert methods["source_only"]["miou"]["std"] == pytest.approx(0.02)
    gaps = summary["gap_closed"]
    assert gaps["source_only"] == pytest.approx(0.0)
    assert gaps["target_only"] == pytest.approx(1.0)
    assert gaps["lsd"] == pytest.approx((0.42 - 0.20) / (0.60 - 0.20))  # 55%
    assert gaps["feature_d"] == pytest.approx(0.06 / 0.40)
    assert summary["paper_order_holds"] is True
    assert methods["target_only"]["reads_target_labels"] is True
    assert methods["lsd"]["reads_target_labels"] is False
    table = (tmp_path / "ablation.md").read_text()
    # 18% and 22%: std 2.0 with n in the denominator, as the header says (2.8 with n - 1).
    assert "mean ± std (std with n in the denominator) over seeds" in table
    assert "| Source-only (`source_only`) | 20.0 ± 2.0 | 0% | 2 | 22.2 |" in table
    assert "| Ours (full) (`lsd`) | 42.0 ± 2.0 | 55% | 2 | 34.5 |" in table
    assert "| Target-only (upper bound) (`target_only`) | 60.0 ± 0.0 | 100% | 2 | - |" in table
    assert "Orders as the paper's Table 4" in table and ": yes." in table
    saved = json.loads((tmp_path / "ablation.json").read_text())
    assert saved["gap_closed"] == pytest.approx(gaps)
    # Each run: the shared file, then its method's layer, then the seed.
    first = calls[0]
    gin_files = [a for a in first if a.startswith("--gin_file=")]
    assert gin_files == [f"--gin_file={SMOKE}",
                         f"--gin_file={ablation.layer_path('source_only')}"]
    assert "--gin_bindings=train.seed = 0" in first


def test_finished_runs_are_not_run_again(ablation, tmp_path):
    calls = []
    ablation.run([SMOKE], str(tmp_path), seeds=1, methods=["source_only", "lsd"],
                 run_fn=_fake_runner(calls))
    assert len(calls) == 2
    os.remove(runs.eval_path(str(tmp_path / "lsd_seed0"), REPORT))  # stopped part way
    summary = ablation.run([SMOKE], str(tmp_path), seeds=1, methods=["source_only", "lsd"],
                           run_fn=_fake_runner(calls))
    assert len(calls) == 3 and "lsd_seed0" in calls[-1][3]
    assert summary["methods"]["source_only"]["seconds"] is not None  # kept from run one


def test_gap_is_undefined_without_both_ends_or_a_real_gap(ablation):
    methods = {"source_only": {"miou": {"mean": 0.3}}, "lsd": {"miou": {"mean": 0.4}}}
    assert ablation.gap_closed(methods) == {"source_only": None, "lsd": None}
    methods["target_only"] = {"miou": {"mean": 0.2}}  # bound below source-only
    assert set(ablation.gap_closed(methods).values()) == {None}
    assert ablation.paper_order_holds(methods) is None


def test_a_folder_of_another_method_is_refused(ablation, tmp_path):
    _write_eval(str(tmp_path / "lsd_seed0"), "source_only", 0.2)
    with pytest.raises(ValueError, match="not 'lsd'"):
        ablation.is_finished(str(tmp_path / "lsd_seed0"), REPORT, "lsd")
    with pytest.raises(ValueError, match="Unknown methods"):
        ablation.run([SMOKE], str(tmp_path), methods=["cyclegan"], run_fn=None)


def test_oracle_runs_are_marked_in_the_table_and_the_json(ablation, tmp_path):
    summary = ablation.run([SMOKE], str(tmp_path), seeds=1, methods=["source_only", "lsd"],
                           run_fn=_fake_runner([], oracle=("lsd",)))
    assert summary["oracle"] is True
    assert summary["methods"]["lsd"]["oracle"] and not summary["methods"]["source_only"][
        "oracle"]
    assert summary["runs"][1]["selection_split"] == "procedural_streets/realistic:tuning"
    table = (tmp_path / "ablation.md").read_text()
    assert table.startswith("**Oracle checkpoint choice**")
    assert "lsd seed 0 on procedural_streets/realistic:tuning" in table
    assert "| Ours (full) (`lsd`) **(oracle)** |" in table
    assert "| Source-only (`source_only`) |" in table
    assert ("- lsd: 2 (best mIoU on procedural_streets/realistic:tuning; raw weights) — ORACLE"
            in table)
    assert json.loads((tmp_path / "ablation.json").read_text())["oracle"] is True
    label_free = ablation.run([SMOKE], str(tmp_path / "free"), seeds=1,
                              methods=["source_only"], run_fn=_fake_runner([]))
    assert label_free["oracle"] is False
    assert "Oracle" not in (tmp_path / "free" / "ablation.md").read_text()


def test_a_target_labelled_choice_without_the_flag_fails_before_any_run(ablation, tmp_path):
    bindings = ["checkpoint_selection.rule = 'best'",
                "checkpoint_selection.dataset = 'procedural_streets/realistic:tuning'"]
    with pytest.raises(selection.OracleSelectionError, match="oracle = True"):
        ablation.run([SMOKE], str(tmp_path), seeds=1, gin_bindings=bindings, run_fn=None)
    assert not os.listdir(tmp_path)


def test_numeric_paths_run_in_their_own_folders_and_environments(ablation, tmp_path):
    calls, envs = [], []
    summary = ablation.run([SMOKE], str(tmp_path), seeds=1, methods=["source_only", "lsd"],
                           run_fn=_fake_runner(calls, envs),
                           numerics=["default", "one_thread"])
    folders = [os.path.basename(c[3].split("=", 1)[1]) for c in calls]
    assert folders == ["source_only_seed0", "source_only_seed0_one_thread", "lsd_seed0",
                       "lsd_seed0_one_thread"]
    assert [env.get("TF_NUM_INTRAOP_THREADS") for env in envs] == [None, "1", None, "1"]
    assert not any("TF_ENABLE_ONEDNN_OPTS" in env for env in envs)
    assert [r["numerics"] for r in summary["runs"]] == ["default", "one_thread"] * 2
    gains = summary["gains"]["lsd"]
    assert [p["gain"] for p in gains["pairs"]] == pytest.approx([0.40 - 0.18] * 2)
    assert gains["stats"]["positive_share"] == 1.0
    assert summary["methods"]["lsd"]["num_runs"] == 2
    assert summary["methods"]["lsd"]["num_seeds"] == 1
    text = (tmp_path / "ablation.md").read_text()
    assert "numeric paths default, one_thread" in text
    assert "| 0 | one_thread | 18.0 | 40.0 | +22.0 |" in text
    # Run again: all four are finished.
    ablation.run([SMOKE], str(tmp_path), seeds=1, methods=["source_only", "lsd"],
                 run_fn=_fake_runner(calls), numerics=["default", "one_thread"])
    assert len(calls) == 4
    with pytest.raises(ValueError, match="Unknown numeric path 'two_threads'"):
        ablation.run([SMOKE], str(tmp_path), numerics=["two_threads"], run_fn=None)


@pytest.mark.slow
def test_real_command_line_on_smoke_two_methods_one_seed(tmp_path, demo_data_dir):
    """One real invocation: source_only and feature_d (no G) through the CLI."""
    workdir = str(tmp_path / "ablation")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "ablation.py"),
         f"--gin_file={SMOKE}", f"--workdir={workdir}", "--seeds=1",
         "--methods=source_only,feature_d"],
        env=cli.environment_reading(demo_data_dir),
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(open(os.path.join(workdir, "ablation.json")).read())
    assert list(summary["methods"]) == ["source_only", "feature_d"]
    for method in ("source_only", "feature_d"):
        run_dir = os.path.join(workdir, f"{method}_seed0")
        with open(runs.eval_path(run_dir, REPORT)) as f:
            result_json = json.load(f)
        assert result_json["method"] == method
        assert result_json["reads_target_labels"] is False
        assert result_json["checkpoint_step"] == 2  # equal steps
        assert result_json["machine"]["numerics"] == "default"  # the runner's environment
        with open(runs.operative_config_path(run_dir)) as f:
            assert f"build_model.method = '{method}'" in f.read()
    assert "Feature space based D" in open(os.path.join(workdir, "ablation.md")).read()


def test_a_seed_list_runs_those_seeds_in_its_order(ablation, tmp_path):
    calls = []
    summary = ablation.run([SMOKE], str(tmp_path), seeds=5, methods=["source_only", "lsd"],
                           seed_list=["1", "0"], run_fn=_fake_runner(calls))
    folders = [os.path.basename(c[3].split("=", 1)[1]) for c in calls]
    assert folders == ["source_only_seed1", "source_only_seed0", "lsd_seed1", "lsd_seed0"]
    assert summary["seeds"] == [1, 0]
    assert "over seeds 1, 0 × numeric paths default" in (tmp_path / "ablation.md").read_text()
    with pytest.raises(ValueError, match=r"--seed_list=2,2 names a seed twice"):
        ablation.run([SMOKE], str(tmp_path / "bad"), seed_list=["2", "2"], run_fn=None)
    with pytest.raises(ValueError, match=r"'x' is not a seed"):
        ablation.run([SMOKE], str(tmp_path / "bad"), seed_list=["x"], run_fn=None)
    assert not os.path.exists(tmp_path / "bad")


def test_summarize_only_runs_nothing_and_names_the_runs_left_out(ablation, tmp_path):
    ablation.run([SMOKE], str(tmp_path), seeds=2, methods=["source_only", "lsd"],
                 seed_list=["1"], run_fn=_fake_runner([]))
    summary = ablation.run([SMOKE], str(tmp_path), seeds=2, methods=["source_only", "lsd"],
                           summarize_only=True, run_fn=None)
    assert [(r["method"], r["seed"]) for r in summary["runs"]] == [("source_only", 1),
                                                                    ("lsd", 1)]
    assert summary["left_out"] == ["source_only seed 0 (default)", "lsd seed 0 (default)"]
    assert summary["seeds"] == [1]
    assert summary["gains"]["lsd"]["pairs"][0]["gain"] == pytest.approx(0.44 - 0.22)
    text = (tmp_path / "ablation.md").read_text()
    assert ("Not finished, left out (--summarize_only): source_only seed 0 (default), "
            "lsd seed 0 (default).") in text
    assert json.loads((tmp_path / "ablation.json").read_text())["left_out"] == summary[
        "left_out"]
    with pytest.raises(errors.ConfigurationError, match="No finished run in .* to summarise"):
        ablation.run([SMOKE], str(tmp_path / "none"), seeds=1, summarize_only=True,
                     run_fn=None)
    assert not os.path.exists(tmp_path / "none")
