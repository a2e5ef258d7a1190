"""scripts/seeds.py's per-method summary and its markdown table (`gta_keras.summaries`).

The summaries are tested through the library module, not by importing the script: its
absl flags would clash with those of other entry points imported in the same process.
"""

import pytest

from gta_keras import summaries


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


def test_checkpoint_lines_name_each_seeds_step_and_the_rule():
    runs = [_run("source_only", 0, 0.1, 0.5, 0.1, step=1400),
            _run("source_only", 1, 0.2, 0.7, 0.3, step=900), _run("lsd", 0, 0.3, 0.8, 0.4)]
    lines = summaries.checkpoint_lines(runs).splitlines()
    assert "- source_only: 1400, 900 (best mIoU on target:tuning)" in lines
    assert "- lsd: 1500 (best mIoU on target:tuning)" in lines
