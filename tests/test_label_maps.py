"""Tests for gta_keras.label_maps: each table against its source, and the lookup functions."""

from cityscapesscripts.helpers import labels as cityscapes_labels
import numpy as np
import pytest
import tensorflow as tf

from gta_keras import label_maps
from gta_keras import protocols

# SYNTHIA class id -> Cityscapes trainId, copied from DESIGN.md section 2 (the mapping of
# DAFormer's and FDA's converters); every other id is void.
SYNTHIA_TO_TRAIN_ID = {
    3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 16: 9, 1: 10, 10: 11, 17: 12,
    8: 13, 18: 14, 19: 15, 20: 16, 12: 17, 11: 18,
}
DATASETS = ("cityscapes", "gta5", "synthia_rand_cityscapes", "camvid")
VOID = {"cityscapes": 255, "gta5": 255, "synthia_rand_cityscapes": 255, "camvid": 11}


def _cityscapes_train_id(label):
    # cityscapesScripts marks ignored classes with 255, and the licence plate with -1.
    return 255 if label.trainId in (255, -1) else label.trainId


def test_cityscapes_table_matches_cityscapesscripts():
    table = label_maps.cityscapes_lookup()
    for label in cityscapes_labels.labels:
        ids = np.array([label.id])
        assert label_maps.apply_lookup(table, ids)[0] == _cityscapes_train_id(label), label
        assert label_maps.CITYSCAPES_LABEL_NAMES[label.id] == label.name
    assert set(label_maps.CITYSCAPES_ID_TO_TRAIN_ID) == {l.id for l in cityscapes_labels.labels}
    known = {label.id for label in cityscapes_labels.labels}
    assert all(table[i] == 255 for i in range(256) if i not in known)


def test_train_ids_name_the_protocol_classes_in_order():
    names = {l.trainId: l.name for l in cityscapes_labels.labels if 0 <= l.trainId < 255}
    assert tuple(names[i] for i in range(19)) == protocols.CITYSCAPES_CLASSES


def test_gta5_uses_the_cityscapes_table():
    np.testing.assert_array_equal(label_maps.gta5_lookup(), label_maps.cityscapes_lookup())


def test_synthia_table_matches_the_design_mapping():
    table = label_maps.synthia_lookup()
    expected = np.full(256, 255, np.uint8)
    for synthia_id, train_id in SYNTHIA_TO_TRAIN_ID.items():
        expected[synthia_id] = train_id
    np.testing.assert_array_equal(table, expected)
    # Each mapped class keeps its meaning: the names agree up to SYNTHIA's wording.
    synonyms = {"pedestrian": "person"}
    for synthia_id, train_id in SYNTHIA_TO_TRAIN_ID.items():
        name = label_maps.SYNTHIA_LABEL_NAMES[synthia_id]
        assert synonyms.get(name, name) == protocols.CITYSCAPES_CLASSES[train_id]


def test_synthia_lane_and_parking_option_maps_only_those_two_to_road():
    default = label_maps.synthia_lookup()
    option = label_maps.synthia_lookup(map_lane_and_parking_to_road=True)
    assert default[22] == default[13] == 255
    assert option[22] == option[13] == 0
    changed = np.flatnonzero(default != option)
    assert changed.tolist() == [13, 22]


def test_camvid_table_keeps_its_11_classes_and_void():
    table = label_maps.camvid_lookup()
    np.testing.assert_array_equal(table[:11], np.arange(11))
    assert (table[11:] == protocols.CAMVID_VOID_LABEL).all()


@pytest.mark.parametrize("dataset", DATASETS)
def test_unknown_ids_and_entry_255_are_void(dataset):
    table = label_maps.lookup_for(dataset)
    assert table.dtype == np.uint8 and table.shape == (256,)
    assert table[255] == VOID[dataset]
    unknown = sorted(set(range(256)) - label_maps.KNOWN_LABEL_IDS[dataset])
    assert (table[unknown] == VOID[dataset]).all()
    assert set(table.tolist()) <= set(range(19)) | {VOID[dataset]}


def test_tables_are_fresh_copies():
    label_maps.cityscapes_lookup()[7] = 99
    assert label_maps.cityscapes_lookup()[7] == 0


def test_lookup_for_unknown_dataset_raises():
    with pytest.raises(ValueError, match="cityscapes"):
        label_maps.lookup_for("kitti")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64])
def test_apply_lookup_maps_out_of_range_ids_to_void(dtype):
    table = label_maps.cityscapes_lookup()
    info = np.iinfo(dtype)
    ids = np.array([[7, 33], [max(info.min, -1), min(info.max, 300)]], dtype=dtype)
    out = label_maps.apply_lookup(table, ids)
    assert out.dtype == np.uint8 and out.shape == ids.shape
    np.testing.assert_array_equal(out, [[0, 18], [255, 255]])


def test_licence_plate_minus_one_is_void():
    out = label_maps.apply_lookup(label_maps.cityscapes_lookup(), np.array([-1]))
    assert out.tolist() == [255]


def test_tf_apply_lookup_equals_numpy_inside_tf_data():
    table = label_maps.synthia_lookup()
    # Every SYNTHIA id, unknown ids, negatives, and a 16-bit value past the table.
    ids = np.arange(-3, 125, dtype=np.int32).reshape(2, 8, 8, 1)
    ids[1, 7, 7, 0] = 70_000
    expected = label_maps.apply_lookup(table, ids)
    dataset = tf.data.Dataset.from_tensor_slices(ids).map(
        lambda x: label_maps.tf_apply_lookup(table, x)
    )
    for got, want in zip(dataset.as_numpy_iterator(), expected):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def test_tf_apply_lookup_accepts_uint16_and_uint8():
    table = label_maps.camvid_lookup()
    for dtype in (tf.uint8, tf.uint16):
        out = label_maps.tf_apply_lookup(table, tf.constant([0, 10, 11, 200], dtype))
        assert out.numpy().tolist() == [0, 10, 11, 11]
