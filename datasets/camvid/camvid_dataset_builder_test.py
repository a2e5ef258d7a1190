"""Tests for the CamVid builder on `dummy_data/` (written by datasets/make_dummy_data.py)."""

import pathlib
import shutil

from etils import epath
import numpy as np
import pytest
import tensorflow_datasets as tfds

from gta_keras import label_maps
from gta_keras import protocols
from gta_keras.datasets import builder_test_utils
from gta_keras.datasets import make_dummy_data
from gta_keras.datasets.camvid import camvid_dataset_builder

DUMMY_DATA = pathlib.Path(camvid_dataset_builder.__file__).parent / "dummy_data"


class CamvidTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = camvid_dataset_builder.Builder
    SPLITS = {"train": 3, "validation": 2, "test": 2}


def _build(manual_dir, data_dir):
    return builder_test_utils.build(camvid_dataset_builder.Builder, manual_dir, data_dir)


def test_every_label_pixel_is_the_table_applied_to_the_raw_annotation(tmp_path):
    builder = _build(DUMMY_DATA, tmp_path)
    seen_ids = set()
    for split, (image_folder, label_folder) in camvid_dataset_builder.SPLIT_FOLDERS.items():
        raw_labels, split_ids = builder_test_utils.check_pixels(
            tfds.as_numpy(builder.as_dataset(split=split)),
            DUMMY_DATA / image_folder,
            DUMMY_DATA / label_folder,
            label_maps.camvid_lookup(),
        )
        assert all((raw.bit_depth, raw.color_type) == (8, "gray") for raw in raw_labels)
        seen_ids |= split_ids
    # Every class and void was checked.
    assert seen_ids == set(range(len(protocols.CAMVID_CLASSES) + 1))


def test_table_keeps_the_11_classes_and_void():
    table = label_maps.camvid_lookup()
    np.testing.assert_array_equal(table[:12], np.arange(12))
    assert (table[12:] == protocols.CAMVID_VOID_LABEL).all()


def test_camvid_folder_inside_manual_dir_is_found(tmp_path):
    shutil.copytree(DUMMY_DATA, tmp_path / "CamVid")
    scan = camvid_dataset_builder.scan_manual_dir(tmp_path)
    assert {split: len(pairs) for split, pairs in scan.splits.items()} == {
        "train": 3, "validation": 2, "test": 2,
    }


def test_dummy_data_is_what_the_script_writes(tmp_path):
    builder_test_utils.check_dummy_data_is_what_the_script_writes("camvid", DUMMY_DATA, tmp_path)


def test_empty_manual_dir_names_the_folders_and_the_page(tmp_path):
    builder_test_utils.check_empty_manual_dir_is_explained(
        camvid_dataset_builder.Builder, tmp_path, "testannot/", camvid_dataset_builder.HOMEPAGE
    )


def test_missing_annotation_folder_is_named(tmp_path):
    shutil.copytree(DUMMY_DATA, tmp_path, dirs_exist_ok=True)
    shutil.rmtree(tmp_path / "valannot")
    with pytest.raises(FileNotFoundError, match="valannot") as error:
        camvid_dataset_builder.scan_manual_dir(tmp_path)
    assert camvid_dataset_builder.HOMEPAGE in str(error.value)


def test_corrupt_annotation_is_named(tmp_path):
    path = tmp_path / "0001TP_006690.png"
    path.write_bytes((DUMMY_DATA / "trainannot" / path.name).read_bytes()[:50])
    with pytest.raises(ValueError, match="Cannot decode .*0001TP_006690.png"):
        camvid_dataset_builder.read_raw_label(epath.Path(path))


def test_colour_annotation_is_rejected_by_name(tmp_path):
    path = tmp_path / "0001TP_006690.png"
    rgb = np.zeros((4, 4, 3), np.uint8)
    path.write_bytes(make_dummy_data.png_bytes(make_dummy_data.Png(rgb, 8, "rgb")))
    with pytest.raises(ValueError, match="0001TP_006690.png has PIL mode RGB"):
        camvid_dataset_builder.read_raw_label(epath.Path(path))


if __name__ == "__main__":
    tfds.testing.test_main()
