"""The confusion matrix and the IoU figures read from it."""

import math

import numpy as np
import pytest

from gta_keras import evaluation
from gta_keras import protocols
from gta_keras.data import datasets_info


def test_confusion_matrix_ignores_void_and_counts_foreign_predictions_as_misses():
    metric = evaluation.ConfusionMatrix(3)
    labels = np.array([0, 0, 1, 1, 2, 255, 2])
    predictions = np.array([0, 1, 1, 1, 2, 0, 9])  # 9: an id outside the classes
    metric.update_state(labels, predictions)
    expected = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 1]])
    np.testing.assert_array_equal(metric.matrix.numpy(), expected)


def test_iou_by_hand():
    matrix = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 1]])
    iou = evaluation.iou_per_class(matrix)
    np.testing.assert_allclose(iou, [1 / 2, 2 / 3, 1.0])
    summary = evaluation.summarize(matrix, ("a", "b", "c"), {"ab": (0, 1)})
    assert summary["miou"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert summary["miouab"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert summary["pixel_accuracy"] == pytest.approx(4 / 5)
    assert summary["per_class_iou"] == {"a": 0.5, "b": pytest.approx(2 / 3), "c": 1.0}


def test_absent_classes_are_left_out_of_the_mean():
    matrix = np.array([[3, 1, 0], [0, 0, 0], [0, 0, 2]])
    summary = evaluation.summarize(matrix, ("a", "b", "c"))
    assert summary["per_class_iou"]["b"] is None
    assert summary["miou"] == pytest.approx((3 / 4 + 1.0) / 2)


def test_metric_result_matches_summary():
    rng = np.random.default_rng(0)
    metric = evaluation.ConfusionMatrix(4)
    labels = rng.integers(0, 4, 500)
    predictions = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 4, 500))
    metric.update_state(labels, predictions)
    summary = evaluation.summarize(metric.matrix.numpy(), "abcd")
    assert float(metric.result()) == pytest.approx(summary["miou"])


def test_cityscapes_protocols():
    assert len(protocols.protocol_class_names(19)) == 19
    assert "terrain" not in protocols.protocol_class_names(16)
    names13 = protocols.protocol_class_names(13)
    assert len(names13) == 13 and "wall" not in names13 and "pole" not in names13
    with pytest.raises(ValueError, match="protocol"):
        protocols.protocol_class_names(11)
    matrix = np.eye(19) * 10
    matrix[9, 9] = 0  # terrain always taken for truck: both are outside the 16
    matrix[9, 14] = 10
    space = datasets_info.label_space("cityscapes/semantic_segmentation",
                                      cityscapes_protocols=True)
    summary = evaluation.summarize(matrix, space.class_names, space.protocols)
    assert summary["miou16"] == pytest.approx(1.0)
    assert summary["miou19"] < 1.0
    assert not math.isnan(summary["miou13"])


def test_camvid_lookup_maps_shared_classes_only():
    table = protocols.train_id_to_camvid_lookup()
    assert table[0] == 3  # road
    assert table[14] == protocols.CAMVID_VOID_LABEL  # truck: no CamVid class
    assert len(protocols.CAMVID_SHARED_CLASS_IDS) == 10


def test_camvid_is_scored_in_its_own_classes_over_the_ten_shared():
    space = datasets_info.label_space("camvid")
    assert space.class_names == protocols.CAMVID_CLASSES
    assert list(space.protocols) == ["10"]
    assert 10 not in space.protocols["10"]  # bicyclist
    assert space.prediction_lookup[13] == 8  # car
