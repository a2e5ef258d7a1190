"""scripts/expected_range.py: the range `make demo` prints beside its result."""

import json
import os
import re
import statistics

import pytest

from gta_keras import runs
from tests import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "gin", "demo.gin")
REPORT = "procedural_streets/realistic:validation"


@pytest.fixture(scope="module")
def expected_range():
    return cli.import_script("scripts/expected_range.py")


def _write_eval(workdir, miou, method="lsd", step=1500, spec=REPORT):
    name, split = runs.parse_dataset_spec(spec)
    path = runs.eval_path(str(workdir), spec)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"dataset": name, "split": split, "miou": miou, "method": method,
                   "checkpoint_step": step}, f)


def test_range_is_mean_plus_minus_two_sample_stds(expected_range):
    bounds = expected_range.expected_range([0.1, 0.2, 0.3])
    assert bounds["mean"] == pytest.approx(0.2)
    assert bounds["std"] == pytest.approx(0.1)  # n - 1
    assert (bounds["low"], bounds["high"]) == pytest.approx((0.0, 0.4))
    assert expected_range.expected_range([0.3])["std"] == 0.0


def test_the_demo_figures_say_where_they_come_from():
    with open(os.path.join(ROOT, "gin", "demo_expected.json")) as f:
        config = json.load(f)["gin/demo.gin"]
    lsd = config["methods"]["lsd"][REPORT]
    source_only = config["methods"]["source_only"][REPORT]
    # lsd: docs/experiments/2026-12-07-reference-init.md, G and D initialised as the
    # authors' code (gin/demo.gin since 2026-12-08): seeds 0-4 on the default, then
    # no_onednn, then one_thread path, on an AMD EPYC (Zen 4).
    assert [round(100 * run["miou"], 1) for run in lsd] == [
        16.5, 12.9, 10.5, 11.1, 12.0, 16.5, 14.1, 9.9, 11.2, 15.4, 17.8, 14.2, 15.1, 10.9, 13.9]
    # source_only (no G or D, so the init leaves it as it was):
    # docs/experiments/2026-12-03-numeric-paths.md: seeds 0-4, each default / no_onednn /
    # one_thread, on an Intel Xeon with AMX; then 2026-12-06-numeric-paths-zen4.md: seeds
    # 0-4, each default / one_thread, on an AMD EPYC (Zen 4); then
    # 2026-12-06-numeric-paths-avx2.md: seeds 0-4, default, then one_thread, then onednn,
    # on an AMD EPYC (Zen 3, AVX2); then 2026-12-07-numeric-paths-zen4-no-onednn.md: seeds
    # 0-4, no_onednn, on the Zen 4.
    studies = {"lsd": {"Zen 4": ("default", "no_onednn", "one_thread")},
               "source_only": {"Xeon": ("default", "no_onednn", "one_thread"),
                               "Zen 4": ("default", "no_onednn", "one_thread"),
                               "Zen 3": ("default", "one_thread", "onednn")}}
    for method, runs_ in (("lsd", lsd), ("source_only", source_only)):
        for run in runs_:
            assert {"seed", "numerics", "machine", "from"} <= set(run)
        for cpu, paths in studies[method].items():
            pairs = [(run["seed"], run["numerics"]) for run in runs_ if cpu in run["machine"]]
            assert sorted(pairs) == [(seed, path) for seed in range(5) for path in paths]
        assert len(runs_) == 15 * len(studies[method])  # every run is from those studies
    # Each method's label names its machines.
    assert config["labels"] == {
        "lsd": "one CPU: 5 seeds x 3 numeric paths on an AMD EPYC (Zen 4)",
        "source_only": ("three CPUs: 5 seeds x 3 numeric paths on an Intel Xeon (AVX-512, "
                        "AMX), 5 seeds x 3 paths on an AMD EPYC (Zen 4), 5 seeds x 3 paths "
                        "on an AMD EPYC (Zen 3, AVX2)")}
    # The range is for the demo as configured: its number of steps.
    steps = re.search(r"^train\.steps = (\d+)", open(DEMO).read(), re.M).group(1)
    assert config["steps"] == int(steps)


def test_demo_line_says_inside_below_or_above(expected_range, tmp_path):
    with open(os.path.join(ROOT, "gin", "demo_expected.json")) as f:
        values = [run["miou"] for run in json.load(f)["gin/demo.gin"]["methods"]["lsd"][REPORT]]
    mean, std = statistics.mean(values), statistics.stdev(values)
    low, high = 100 * (mean - 2 * std), 100 * (mean + 2 * std)
    assert (round(low, 1), round(high, 1)) == (8.5, 18.4)  # computed here, not by the script
    _write_eval(tmp_path, 0.165)  # the Zen 4's seed 0 on the default path
    [line] = expected_range.report(DEMO, str(tmp_path))
    assert line == ("realistic/validation mIoU 16.5; expected for gin/demo.gin (lsd): "
                    "8.5-18.4 (mean ± 2 std over 15 runs: one CPU: 5 seeds x 3 numeric "
                    "paths on an AMD EPYC (Zen 4)): inside the range.")
    _write_eval(tmp_path, 0.04)  # e.g. a broken install
    assert "BELOW the range: a broken install" in expected_range.report(DEMO, str(tmp_path))[0]
    _write_eval(tmp_path, 0.19)
    assert "above the range" in expected_range.report(DEMO, str(tmp_path))[0]
    _write_eval(tmp_path, 0.08, method="source_only")
    line = expected_range.report(DEMO, str(tmp_path))[0]
    source_only = [9.5, 9.3, 9.4, 6.5, 6.5, 6.6, 7.5, 7.3, 7.4, 8.1, 8.0, 8.1, 7.7, 7.3, 7.4,
                   9.2, 9.4, 6.7, 6.5, 7.4, 7.3, 8.0, 8.0, 7.4, 7.2, 9.3, 6.6, 7.3, 7.9, 7.3,
                   9.5, 6.7, 7.3, 8.0, 7.4, 9.5, 6.7, 7.3, 7.8, 7.5, 9.5, 6.5, 7.3, 8.0, 7.5]
    assert round(statistics.mean(source_only) - 2 * statistics.stdev(source_only), 1) == 5.8
    assert "(source_only): 5.8-9.7 (mean ± 2 std over 45 runs: three CPUs:" in line
    assert line.endswith("inside the range.")


def test_no_comparison_when_the_run_is_not_the_configuration(expected_range, tmp_path):
    assert expected_range.report(DEMO, str(tmp_path)) == [
        f"No result in {tmp_path} to compare with gin/demo.gin's expected range."]
    _write_eval(tmp_path, 0.13, method="feature_d")
    assert "no expected range for method 'feature_d'" in (
        expected_range.report(DEMO, str(tmp_path))[0])
    _write_eval(tmp_path, 0.13, step=300)
    assert "scored at step 300, not the 1500" in expected_range.report(DEMO, str(tmp_path))[0]
    smoke = os.path.join(ROOT, "gin", "smoke.gin")
    assert expected_range.report(smoke, str(tmp_path))[0].startswith(
        "No expected range recorded for gin/smoke.gin")


def test_make_demo_prints_the_range_after_the_run():
    path = os.path.join(ROOT, "Makefile")  # Bazel stages it too (update_build's REPO_DATA).
    text = open(path).read()
    recipe = text.split("\ndemo: ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert "gta_keras.main --gin_file=gin/demo.gin --workdir=runs/demo" in recipe[0]
    assert recipe[1].strip() == ("$(VENV)/bin/python scripts/expected_range.py "
                                 "--gin_file=gin/demo.gin --workdir=runs/demo")
