"""The exported segmenter: TF Serving layout, signature, parity, bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import export
from gta_keras import predictors
from gta_keras import evaluation
from tests import tiny


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = tiny.model()
    tiny.train_one_step(model, tiny.batch())  # non-trivial weights
    base = str(tmp_path_factory.mktemp("export"))
    path = export.export_segmenter(model.embedder, model.classifier, base, 7,
                                   serving_size=(32, 64))
    return model, base, path


def _saved_model_cli():
    return os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


def test_tf_serving_layout_and_only_f_and_c(exported):
    model, base, path = exported
    assert path == os.path.join(base, "7")
    assert os.path.exists(os.path.join(path, "saved_model.pb"))
    loaded = tf.saved_model.load(path)
    # Float variables only: dropout's seed-generator states are int variables.
    num_exported = sum(int(np.prod(v.shape)) for v in loaded.variables
                       if v.dtype.is_floating)
    expected = model.embedder.count_params() + model.classifier.count_params()
    assert num_exported == expected


@pytest.mark.parametrize("size", [(32, 64), (45, 70)])
def test_reload_matches_keras_model(exported, size):
    model, _, path = exported
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2,) + size + (3,)).astype(np.uint8)
    outputs = tf.saved_model.load(path).signatures["serving_default"](
        images=tf.constant(images))
    assert outputs["classes"].shape == (2,) + size
    assert outputs["classes"].dtype == tf.int32
    assert outputs["probabilities"].shape == (2,) + size + (tiny.NUM_CLASSES,)
    model.eval_size = (32, 64)
    expected_logits = model.predict_logits(tf.cast(images, tf.float32), size)
    np.testing.assert_allclose(outputs["probabilities"], tf.nn.softmax(expected_logits),
                               atol=1e-5)
    np.testing.assert_array_equal(outputs["classes"],
                                  tf.argmax(expected_logits, -1, output_type=tf.int32))


def test_bad_inputs_fail_clearly(exported):
    _, _, path = exported
    serve = tf.saved_model.load(path).signatures["serving_default"]
    errors = (TypeError, ValueError, tf.errors.InvalidArgumentError)
    with pytest.raises(errors, match="expected to be a uint8 tensor"):
        serve(images=tf.zeros((1, 32, 64, 3), tf.float32))
    with pytest.raises(errors, match=r"\[32,64,3\] is not compatible with expected shape"):
        serve(images=tf.zeros((32, 64, 3), tf.uint8))


@pytest.mark.parametrize("shape", [(1, 0, 0, 3), (1, 32, 0, 3), (0, 32, 64, 3)],
                         ids=["zero_size", "zero_width", "empty_batch"])
def test_zero_size_input_fails_clearly(exported, shape):
    """Not the resize's "non-zero size" or a convolution's "filter depth" error."""
    _, _, path = exported
    serve = tf.saved_model.load(path).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        serve(images=tf.zeros(shape, tf.uint8))
    message = str(raised.value)
    assert "serving_default needs at least one image of at least 1x1 pixels" in message
    assert " ".join(map(str, shape[:3])) in message  # the shape it was given


def test_saved_model_cli_show_and_run(exported, tmp_path):
    _, _, path = exported
    shown = subprocess.run([_saved_model_cli(), "show", "--dir", path, "--all"],
                           capture_output=True, text=True, check=True).stdout
    assert "serving_default" in shown
    assert "images" in shown and "DT_UINT8" in shown
    assert "classes" in shown and "probabilities" in shown
    images = np.random.default_rng(1).integers(0, 256, (1, 32, 64, 3)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    result = subprocess.run(
        [_saved_model_cli(), "run", "--dir", path, "--tag_set", "serve",
         "--signature_def", "serving_default", "--inputs", f"images={tmp_path}/images.npy",
         "--outdir", str(tmp_path / "out")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    classes = np.load(tmp_path / "out" / "classes.npy")
    assert classes.shape == (1, 32, 64)
    # saved_model_cli casts .npy data to the signature's dtype itself, and rejects a
    # missing batch dimension before the model runs.
    single = tmp_path / "single.npy"
    np.save(single, images[0])
    bad = subprocess.run(
        [_saved_model_cli(), "run", "--dir", path, "--tag_set", "serve",
         "--signature_def", "serving_default", "--inputs", f"images={single}"],
        capture_output=True, text=True)
    assert bad.returncode != 0
    assert "Cannot feed value of shape (32, 64, 3)" in bad.stderr


def _score(predict_classes, dataset, num_classes, lookup=None):
    scorer = evaluation.SegmentationScorer(predict_classes, num_classes, lookup)
    scorer.compile()
    scores = scorer.evaluate(dataset, verbose=0, return_dict=True)
    return scores, scorer.confusion.matrix.numpy()


def test_the_export_scores_like_the_keras_model(exported):
    model, _, path = exported
    model.eval_size = (32, 64)
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (4, 32, 64, 3)).astype(np.float32)
    labels = rng.integers(0, tiny.NUM_CLASSES, (4, 32, 64, 1)).astype(np.uint8)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
    predictor = predictors.from_saved_model(path)
    assert predictor.num_classes == tiny.NUM_CLASSES
    served_scores, served = _score(predictor.predict_classes, dataset, tiny.NUM_CLASSES)
    keras_scores, in_memory = _score(model.predict_classes, dataset, tiny.NUM_CLASSES)
    assert served_scores["num_images"] == keras_scores["num_images"] == 4
    np.testing.assert_array_equal(served, in_memory)
    assert served.sum() == 4 * 32 * 64


def test_predictions_can_be_scored_in_another_label_space(exported):
    model, _, _ = exported
    model.eval_size = (32, 64)
    images = np.zeros((1, 32, 64, 3), np.float32)
    predicted = model.predict_classes(images, (32, 64)).numpy()
    # Every class maps to label 0 but the one predicted at the first pixel, to 1.
    lookup = np.zeros(256, np.int32)
    lookup[predicted[0, 0, 0]] = 1
    labels = np.ones((1, 32, 64, 1), np.uint8)
    _, matrix = _score(model.predict_classes,
                       tf.data.Dataset.from_tensors((images, labels)), 2, lookup)
    assert matrix.shape == (2, 2)
    assert matrix[1, 1] == np.sum(predicted == predicted[0, 0, 0])
