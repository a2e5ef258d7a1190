"""The confusion matrix and the IoU figures read from it, on hand-computed values."""

import json

import numpy as np
import pytest

from gta_keras import evaluation
from gta_keras import protocols
from gta_keras.data import datasets_info


def _fcn_mean_iu(matrix):
    """The reference code's scoring (FCN's `label_accuracy_score`), written out here.

    IoU = diag / (row sums + column sums - diag) and `np.nanmean` of it: 0 for a class
    predicted but never true, NaN (left out) for a class neither true nor predicted.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        iu = np.diag(matrix) / (matrix.sum(1) + matrix.sum(0) - np.diag(matrix))
    return np.nanmean(iu)


def test_confusion_matrix_ignores_void_and_counts_foreign_predictions_as_misses():
    metric = evaluation.ConfusionMatrix(3)
    labels = np.array([0, 0, 1, 1, 2, 255, 2, 1])
    # 9 and -1: ids outside the classes; the void pixel's prediction (0) is not counted.
    predictions = np.array([0, 1, 1, 1, 2, 0, 9, -1])
    metric.update_state(labels, predictions)
    np.testing.assert_array_equal(metric.matrix.numpy(),
                                  [[1, 1, 0], [0, 2, 0], [0, 0, 1]])
    np.testing.assert_array_equal(metric.counts(),
                                  [[1, 1, 0, 0], [0, 2, 0, 1], [0, 0, 1, 1]])
    # road: 1 / (2 + 1 - 1); b: 2 / (3 + 3 - 2); c: 1 / (2 + 1 - 1). The foreign
    # predictions are misses of b and c; the void pixel is no false positive of a.
    iou = evaluation.iou_per_class(metric.counts())
    np.testing.assert_allclose(iou, [1 / 2, 2 / 4, 1 / 2])
    assert float(metric.result()) == pytest.approx((1 / 2 + 2 / 4 + 1 / 2) / 3)
    summary = evaluation.summarize(metric.counts(), "abc")
    assert summary["num_labelled_pixels"] == 7
    assert summary["pixel_accuracy"] == pytest.approx(4 / 7)


def test_iou_by_hand():
    matrix = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 1]])
    iou = evaluation.iou_per_class(matrix)
    np.testing.assert_allclose(iou, [1 / 2, 2 / 3, 1.0])
    summary = evaluation.summarize(matrix, ("a", "b", "c"), {"ab": (0, 1)})
    assert summary["miou"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert summary["miouab"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert summary["pixel_accuracy"] == pytest.approx(4 / 5)
    assert summary["per_class_iou"] == {"a": 0.5, "b": pytest.approx(2 / 3), "c": 1.0}


def test_a_class_predicted_but_absent_from_the_labels_scores_zero():
    matrix = np.array([[3, 1, 0], [0, 0, 0], [0, 0, 2]])  # b never true, once predicted
    summary = evaluation.summarize(matrix, ("a", "b", "c"))
    assert summary["per_class_iou"]["b"] == 0.0
    assert summary["miou"] == pytest.approx((3 / 4 + 0.0 + 1.0) / 3)
    assert summary["miou"] == pytest.approx(_fcn_mean_iu(matrix))


def test_a_class_neither_present_nor_predicted_is_left_out():
    matrix = np.array([[3, 0, 0], [0, 0, 0], [1, 0, 2]])  # b never true, never predicted
    summary = evaluation.summarize(matrix, ("a", "b", "c"))
    assert summary["per_class_iou"]["b"] is None
    assert summary["miou"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert summary["miou"] == pytest.approx(_fcn_mean_iu(matrix))
    assert "predicted but absent from the labels has IoU 0" in summary["miou_rule"]


def test_nothing_scored_gives_no_miou():
    summary = evaluation.summarize(np.zeros((3, 4)), "abc")
    assert summary["miou"] is None and summary["pixel_accuracy"] is None
    assert float(evaluation.ConfusionMatrix(3).result()) == 0.0


def test_metric_result_matches_summary_and_the_reference_scoring():
    """A stream with a class predicted but never true: metric, summary and FCN agree."""
    rng = np.random.default_rng(0)
    metric = evaluation.ConfusionMatrix(5)
    for _ in range(3):
        labels = rng.integers(0, 4, 500)  # class 4 never true...
        predictions = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 5, 500))
        metric.update_state(labels, predictions)  # ...but predicted
    summary = evaluation.summarize(metric.counts(), "abcde")
    assert summary["per_class_iou"]["e"] == 0.0
    expected = _fcn_mean_iu(metric.matrix.numpy())
    assert summary["miou"] == pytest.approx(expected, abs=1e-12)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-12)
    metric.reset_state()
    assert metric.counts().sum() == 0


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
    # Terrain: 0 of 10 right; truck: 10 right, 10 false positives.
    assert summary["per_class_iou"]["terrain"] == 0.0
    assert summary["per_class_iou"]["truck"] == pytest.approx(0.5)
    assert summary["miou19"] == pytest.approx((17 + 0.5) / 19)
    assert summary["miou"] == pytest.approx((17 + 0.5) / 19)
    assert summary["miou16"] == pytest.approx(1.0)
    assert summary["miou13"] == pytest.approx(1.0)


def test_miou16_is_the_mean_of_the_16_per_class_values_of_the_same_json(tmp_path):
    """miou16 comes from the 19-class matrix, as the authors compute it, and says so."""
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 50, (19, 20)).astype(np.float64)
    counts[16] = 0  # train never true, but predicted: IoU 0
    counts[:, 16] = 0
    counts[0, 16] = 30
    counts[14] = 0  # truck neither true nor predicted: left out
    counts[:, 14] = 0
    space = datasets_info.label_space("cityscapes/semantic_segmentation",
                                      cityscapes_protocols=True)
    path = tmp_path / "eval.json"
    evaluation.write_json(evaluation.summarize(counts, space.class_names, space.protocols),
                          str(path))
    summary = json.loads(path.read_text())

    sixteen = summary["protocols"]["16"]
    assert tuple(sixteen["class_names"]) == protocols.protocol_class_names(16)
    assert "19-class confusion matrix" in sixteen["rule"]
    values = [summary["per_class_iou"][name] for name in sixteen["class_names"]]
    assert all(value is not None for value in values)
    assert summary["miou16"] == pytest.approx(np.mean(values), abs=1e-12)
    everything = [v for v in summary["per_class_iou"].values() if v is not None]
    assert len(everything) == 18  # truck left out, train counted as 0
    assert summary["per_class_iou"]["train"] == 0.0
    assert summary["miou19"] == pytest.approx(np.mean(everything), abs=1e-12)
    assert summary["miou"] == summary["miou19"]

    # Not a 16-class evaluation: dropping the other classes' rows and columns (pixels of
    # the 16 predicted as terrain would no longer be misses) gives another number.
    ids = list(protocols.PROTOCOL_CLASS_IDS[16])
    assert abs(_fcn_mean_iu(counts[np.ix_(ids, ids)]) - summary["miou16"]) > 1e-3


def test_summary_rejects_a_matrix_of_the_wrong_shape():
    with pytest.raises(ValueError, match="confusion matrix"):
        evaluation.summarize(np.zeros((3, 5)), "abc")
    with pytest.raises(ValueError, match="class names"):
        evaluation.summarize(np.zeros((3, 3)), "ab")


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


def test_a_camvid_pixel_predicted_as_a_class_camvid_lacks_is_a_miss():
    """Truck has no CamVid class: a road pixel predicted as truck lowers road's IoU."""
    space = datasets_info.label_space("camvid")
    table = space.prediction_lookup
    metric = evaluation.ConfusionMatrix(len(space.class_names))
    road = protocols.CAMVID_CLASSES.index("road")
    labels = np.full(4, road)
    predictions = table[[0, 0, 0, 14]]  # trainIds road, road, road, truck
    metric.update_state(labels, predictions)
    summary = evaluation.summarize(metric.counts(), space.class_names, space.protocols)
    assert summary["per_class_iou"]["road"] == pytest.approx(3 / 4)
    assert summary["miou10"] == pytest.approx(3 / 4)  # the other nine: neither, left out
