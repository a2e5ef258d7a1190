"""Tests for the SYNTHIA-RAND-CITYSCAPES builder on `dummy_data/`.

The dummy data is written by datasets/make_dummy_data.py: 16-bit 3-channel labels with
every SYNTHIA class id in the first channel and instance ids above 255 in the second.
"""

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
from gta_keras.datasets.synthia_rand_cityscapes import synthia_rand_cityscapes_dataset_builder

builder_module = synthia_rand_cityscapes_dataset_builder
DUMMY_DATA = pathlib.Path(builder_module.__file__).parent / "dummy_data"
LABELS = DUMMY_DATA / "GT" / "LABELS"


class SynthiaRandCityscapesTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = builder_module.Builder
    # Both configs: 3 frames outside validation_frames.txt, 2 named in it.
    SPLITS = {"train": 3, "validation": 2}


def _build(manual_dir, data_dir, config="default"):
    return builder_test_utils.build(builder_module.Builder, manual_dir, data_dir, config=config)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.mark.parametrize("config, map_lane_and_parking_to_road", [
    ("default", False),
    ("lane_and_parking_as_road", True),
])
def test_every_label_pixel_is_the_table_applied_to_the_first_16_bit_channel(
    data_dir, config, map_lane_and_parking_to_road
):
    builder = _build(DUMMY_DATA, data_dir, config)
    table = label_maps.synthia_lookup(map_lane_and_parking_to_road=map_lane_and_parking_to_road)
    examples = [
        example
        for split in ("train", "validation")
        for example in tfds.as_numpy(builder.as_dataset(split=split))
    ]
    # The class id is the first 16-bit channel; the table is applied to it alone.
    raw_labels, seen_ids = builder_test_utils.check_pixels(
        examples, DUMMY_DATA / "RGB", LABELS, table, class_ids=lambda raw: raw.samples[..., 0]
    )
    assert all((raw.bit_depth, raw.samples.shape[-1]) == (16, 3) for raw in raw_labels)
    assert len(examples) == 5
    assert seen_ids == set(range(23))  # every SYNTHIA class id was checked


def test_dummy_labels_would_expose_a_wrong_channel_or_an_8_bit_decode():
    raw = make_dummy_data.read_png((LABELS / "0000000.png").read_bytes()).samples
    assert raw[..., 1].min() > 255  # instance ids: no valid class id, nor in 8 bits
    assert raw[..., 0].max() < 256 and (raw[..., 0] >> 8 == 0).all()  # high byte is 0


def test_splits_follow_the_committed_validation_list():
    scan = builder_module.scan_manual_dir(DUMMY_DATA)
    listed = make_validation_lists.read_validation_list(builder_module.VALIDATION_LIST.read_text())
    assert [p.image_id + ".png" in listed for p in scan.splits["validation"]] == [True, True]
    assert not any(p.image_id + ".png" in listed for p in scan.splits["train"])


def test_archive_folder_is_found_inside_manual_dir(tmp_path):
    shutil.copytree(DUMMY_DATA, tmp_path / builder_module.ARCHIVE_FOLDER)
    scan = builder_module.scan_manual_dir(tmp_path)
    assert scan.root == epath.Path(tmp_path / builder_module.ARCHIVE_FOLDER)
    assert {split: len(pairs) for split, pairs in scan.splits.items()} == {
        "train": 3, "validation": 2,
    }


def test_validation_list_is_reproducible_and_has_100_real_frames():
    builder_test_utils.check_validation_list(
        builder_module.VALIDATION_LIST, "synthia_rand_cityscapes", 100
    )


def test_dummy_data_is_what_the_script_writes(tmp_path):
    builder_test_utils.check_dummy_data_is_what_the_script_writes(
        "synthia_rand_cityscapes", DUMMY_DATA, tmp_path
    )


def test_empty_manual_dir_names_the_archive_and_the_page(tmp_path):
    builder_test_utils.check_empty_manual_dir_is_explained(
        builder_module.Builder, tmp_path, builder_module.ARCHIVE, builder_module.HOMEPAGE
    )


def test_missing_labels_folder_is_named(tmp_path):
    shutil.copytree(DUMMY_DATA / "RGB", tmp_path / "RGB")
    with pytest.raises(FileNotFoundError, match="GT/LABELS") as error:
        builder_module.scan_manual_dir(tmp_path)
    assert builder_module.HOMEPAGE in str(error.value)


def test_backslash_names_from_unrar_get_a_hint(tmp_path):
    (tmp_path / "RGB\\0000000.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="backslashes"):
        builder_module.scan_manual_dir(tmp_path)


def test_8_bit_label_stops_the_build_and_is_named(tmp_path):
    manual_dir = tmp_path / "manual"
    shutil.copytree(DUMMY_DATA, manual_dir)
    label = manual_dir / "GT" / "LABELS" / "0000001.png"
    samples = make_dummy_data.read_png(label.read_bytes()).samples
    eight_bit = make_dummy_data.Png(samples.astype(np.uint8), 8, "rgb")
    label.write_bytes(make_dummy_data.png_bytes(eight_bit))
    with pytest.raises(ValueError, match=r"LABELS/0000001.png has bit depth 8"):
        _build(manual_dir, tmp_path / "data")


def test_corrupt_label_is_named(tmp_path):
    path = tmp_path / "0000000.png"
    path.write_bytes((LABELS / "0000000.png").read_bytes()[:200])
    with pytest.raises(ValueError, match="Cannot decode .*0000000.png"):
        builder_module.read_raw_label(epath.Path(path))


def test_corrupt_image_is_named(tmp_path):
    path = tmp_path / "0000000.png"
    path.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="Cannot decode .*0000000.png"):
        builder_module.read_image(epath.Path(path))


if __name__ == "__main__":
    tfds.testing.test_main()
