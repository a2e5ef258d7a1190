"""Tests for the GTA5 builder on `dummy_data/` (written by datasets/make_dummy_data.py)."""

import logging
import pathlib
import shutil

from etils import epath
import numpy as np
import pytest
import tensorflow_datasets as tfds

from gta_keras import label_maps
from gta_keras.datasets import builder_test_utils
from gta_keras.datasets import make_dummy_data
from gta_keras.datasets import make_validation_lists
from gta_keras.datasets.gta5 import gta5_dataset_builder

DUMMY_DATA = pathlib.Path(gta5_dataset_builder.__file__).parent / "dummy_data"
MISMATCHED_FRAME = "00003"  # its label is 2 rows shorter than its image


class Gta5Test(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = gta5_dataset_builder.Builder
    # 4 training pairs minus the mismatched one; 2 frames named in validation_frames.txt.
    SPLITS = {"train": 3, "validation": 2}


class _Records(logging.Handler):
    """Keeps the messages absl logs while a dataset builds."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _build(manual_dir, data_dir):
    return builder_test_utils.build(gta5_dataset_builder.Builder, manual_dir, data_dir)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The dummy data built once, with the build log."""
    records = _Records()
    absl_logger = logging.getLogger("absl")
    absl_logger.addHandler(records)
    try:
        builder = _build(DUMMY_DATA, tmp_path_factory.mktemp("data"))
    finally:
        absl_logger.removeHandler(records)
    examples = {
        split: list(tfds.as_numpy(builder.as_dataset(split=split)))
        for split in ("train", "validation")
    }
    return examples, records.messages


def test_every_label_pixel_is_the_table_applied_to_the_raw_palette_indices(built):
    examples, _ = built
    raw_labels, seen_ids = builder_test_utils.check_pixels(
        examples["train"] + examples["validation"],
        DUMMY_DATA / "images",
        DUMMY_DATA / "labels",
        label_maps.gta5_lookup(),
    )
    assert all(raw.color_type == "palette" for raw in raw_labels)
    assert seen_ids == set(range(34))  # every Cityscapes label id was checked


def test_table_is_the_cityscapes_one_and_palette_colours_are_not_ids():
    np.testing.assert_array_equal(label_maps.gta5_lookup(), label_maps.cityscapes_lookup())
    palette = make_dummy_data.gta5_palette()
    index = np.arange(256)[:, None]
    assert not (palette == index).any()  # decoding colours instead of indices would show


def test_mismatched_pair_is_skipped_and_counted_in_the_log(built):
    examples, messages = built
    ids = {e["image_id"].decode() for split in examples.values() for e in split}
    assert MISMATCHED_FRAME not in ids
    assert any(f"{MISMATCHED_FRAME}.png" in m and "32x16" in m for m in messages)
    assert any("skipped 1 of 4 pairs" in m for m in messages)


def test_splits_follow_the_committed_validation_list(built):
    examples, _ = built
    listed = make_validation_lists.read_validation_list(
        gta5_dataset_builder.VALIDATION_LIST.read_text()
    )
    for split, inside in (("validation", True), ("train", False)):
        for example in examples[split]:
            assert (example["image_id"].decode() + ".png" in listed) == inside


def test_validation_list_is_reproducible_and_has_1000_real_frames():
    builder_test_utils.check_validation_list(gta5_dataset_builder.VALIDATION_LIST, "gta5", 1000)


def test_dummy_data_is_what_the_script_writes(tmp_path):
    builder_test_utils.check_dummy_data_is_what_the_script_writes("gta5", DUMMY_DATA, tmp_path)


def test_empty_manual_dir_names_the_archives_and_the_page(tmp_path):
    builder_test_utils.check_empty_manual_dir_is_explained(
        gta5_dataset_builder.Builder, tmp_path, "01_labels.zip", gta5_dataset_builder.HOMEPAGE
    )


def test_missing_labels_folder_is_named(tmp_path):
    shutil.copytree(DUMMY_DATA / "images", tmp_path / "images")
    with pytest.raises(FileNotFoundError, match="labels") as error:
        gta5_dataset_builder.scan_manual_dir(tmp_path)
    assert gta5_dataset_builder.HOMEPAGE in str(error.value)


def test_corrupt_png_stops_the_build_and_is_named(tmp_path):
    manual_dir = tmp_path / "manual"
    shutil.copytree(DUMMY_DATA, manual_dir)
    label = manual_dir / "labels" / "00001.png"
    label.write_bytes(label.read_bytes()[:60])
    with pytest.raises(ValueError, match="labels/00001.png"):
        _build(manual_dir, tmp_path / "data")


def test_rgb_label_is_rejected_by_name(tmp_path):
    path = tmp_path / "00001.png"
    rgb = np.zeros((4, 4, 3), np.uint8)
    path.write_bytes(make_dummy_data.png_bytes(make_dummy_data.Png(rgb, 8, "rgb")))
    with pytest.raises(ValueError, match="00001.png has PIL mode RGB"):
        gta5_dataset_builder.read_raw_label(epath.Path(path))


if __name__ == "__main__":
    tfds.testing.test_main()
