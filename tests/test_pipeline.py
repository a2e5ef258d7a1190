"""The training and evaluation input pipelines."""

import numpy as np
import pytest
import tensorflow as tf

from gta_keras.data import pipeline
from gta_keras.data import preprocessing

SOURCE_CLASS, TARGET_CLASS = 3, 7


def _fake_loader(target_has_labels=True):
    """A `load_split` stand-in: source scenes labelled 3, target scenes labelled 7."""

    def load(name, split, data_dir=None, manual_dir=None, shuffle_files=False,
             seed=None):
        del split, data_dir, manual_dir, shuffle_files, seed
        rng = np.random.default_rng(0 if name == "source" else 1)
        images = rng.integers(0, 256, (6, 48, 96, 3)).astype(np.uint8)
        if name == "source":
            labels = np.full((6, 48, 96, 1), SOURCE_CLASS, np.uint8)
            return tf.data.Dataset.from_tensor_slices((images, labels))
        if target_has_labels:
            labels = np.full((6, 48, 96, 1), TARGET_CLASS, np.uint8)
            return tf.data.Dataset.from_tensor_slices((images, labels))
        # An unlabelled target: examples have no label at all.
        return tf.data.Dataset.from_tensor_slices(images).map(lambda image: (image,))

    return load


def _first_batch(seed=0, image_size=(32, 64), **kwargs):
    dataset = pipeline.make_train_dataset(
        source="source", target="target", image_size=image_size, batch_size=4, seed=seed,
        load_fn=kwargs.pop("load_fn", _fake_loader()), **kwargs)
    return next(iter(dataset))


def test_triplet_shapes_and_ranges():
    source, labels, target = _first_batch()
    assert source.shape == (4, 32, 64, 3) and source.dtype == tf.float32
    assert labels.shape == (4, 32, 64, 1) and labels.dtype == tf.uint8
    assert target.shape == (4, 32, 64, 3) and target.dtype == tf.float32
    for images in (source, target):
        assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 255.0


def test_target_labels_never_reach_training():
    _, labels, _ = _first_batch()
    assert set(np.unique(labels.numpy())) == {SOURCE_CLASS}
    # And an unlabelled target works: nothing downstream asks for its labels.
    source, labels, target = _first_batch(load_fn=_fake_loader(target_has_labels=False))
    assert target.shape == (4, 32, 64, 3)
    dataset = pipeline.make_train_dataset(source="source", target="target",
                                          image_size=(32, 64), batch_size=4,
                                          load_fn=_fake_loader())
    assert len(dataset.element_spec) == 3


def test_deterministic_under_a_seed():
    first = _first_batch(seed=5)
    again = _first_batch(seed=5)
    other = _first_batch(seed=6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(first[0].numpy(), other[0].numpy())


def test_training_size_must_divide_by_32():
    with pytest.raises(ValueError, match="divisible by 32"):
        _first_batch(image_size=(30, 64))


def test_random_crop_keeps_label_values_and_aspect():
    image = tf.random.uniform((50, 120, 3), 0, 255)
    label = tf.constant(np.random.default_rng(0).choice([0, 5, 255], (50, 120, 1)),
                        tf.uint8)
    for index in range(5):
        cropped, cropped_label = preprocessing.random_crop_and_resize(
            image, label, (32, 64), 0.5, tf.constant([0, index], tf.int64))
        assert cropped.shape == (32, 64, 3)
        assert set(np.unique(cropped_label.numpy())) <= {0, 5, 255}


def test_embedder_and_discriminator_inputs():
    rgb = tf.constant([[[255.0, 0.0, 10.0]]])
    np.testing.assert_allclose(preprocessing.embedder_input(rgb),
                               [[[10 - 103.939, 0 - 116.779, 255 - 123.68]]], rtol=1e-6)
    np.testing.assert_allclose(preprocessing.unit_range(rgb), [[[1.0, 0.0, 10 / 255]]])


def test_eval_dataset_keeps_label_size_and_order():
    dataset = pipeline.make_eval_dataset("source", "validation", batch_size=2,
                                         load_fn=_fake_loader())
    images, labels = next(iter(dataset))
    assert images.shape == (2, 48, 96, 3) and images.dtype == tf.float32
    assert labels.shape == (2, 48, 96, 1)


def test_unknown_dataset_names_the_dataset():
    with pytest.raises(pipeline.DatasetUnavailableError, match="no_such_dataset"):
        pipeline.load_split("no_such_dataset", "train")
