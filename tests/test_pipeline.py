"""The training and evaluation input pipelines."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

from gta_keras.data import pipeline
from gta_keras.data import preprocessing
from gta_keras.datasets.gta5 import gta5_dataset_builder

SOURCE_CLASS, TARGET_CLASS = 3, 7
GTA5_DUMMY = str(pathlib.Path(gta5_dataset_builder.__file__).parent / "dummy_data")


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


def test_native_crops_keep_the_frames_resolution():
    # A ramp image: a native crop keeps neighbouring pixel values one apart, a resized
    # crop of the 48x96 frame to 32x64 would not.
    ramp = np.tile(np.arange(96, dtype=np.uint8)[None, :, None], (48, 1, 3))

    def load(name, split, **unused):
        del name, split  # Both domains get the ramp.
        labels = np.full((1, 48, 96, 1), SOURCE_CLASS, np.uint8)
        return tf.data.Dataset.from_tensor_slices((ramp[None], labels))

    source, labels, target = _first_batch(crop="native", load_fn=load)
    for images in (source, target):
        steps = np.diff(images.numpy()[..., 0], axis=-1)
        np.testing.assert_array_equal(steps, 1.0)
    assert set(np.unique(labels.numpy())) == {SOURCE_CLASS}


def test_native_crops_enlarge_a_frame_smaller_than_the_crop():
    image = tf.zeros((20, 50, 3), tf.uint8)
    label = tf.fill((20, 50, 1), tf.constant(4, tf.uint8))
    cropped, cropped_label = preprocessing.random_native_crop(
        image, label, (32, 64), tf.constant([0, 1], tf.int64))
    assert cropped.shape == (32, 64, 3) and cropped_label.shape == (32, 64, 1)
    assert set(np.unique(cropped_label.numpy())) == {4}


def test_source_width_resizes_the_source_before_cropping():
    image = tf.zeros((100, 200, 3), tf.uint8)
    label = tf.zeros((100, 200, 1), tf.uint8)
    resized, resized_label = preprocessing.resize_to_width(image, label, 128)
    assert resized.shape == (64, 128, 3) and resized_label.shape == (64, 128, 1)


def test_an_unknown_crop_fails_before_any_data_is_read():
    def no_data(*unused, **unused_kwargs):
        raise AssertionError("read data before checking the crop")

    with pytest.raises(ValueError, match="Unknown make_train_dataset.crop 'center'"):
        pipeline.make_train_dataset(source="source", target="target", crop="center",
                                    load_fn=no_data)


def test_before_reading_runs_after_preparing_and_before_reading():
    events = []
    loader = _fake_loader()

    def prepare(name, **unused):
        events.append(f"prepare {name}")

    def load(name, split, **kwargs):
        events.append(f"read {name}")
        return loader(name, split, **kwargs)

    pipeline.make_train_dataset(source="source", target="target", image_size=(32, 64),
                                load_fn=load, prepare_fn=prepare,
                                before_reading=lambda: events.append("seed"))
    assert events == ["prepare source", "prepare target", "seed", "read source",
                      "read target"]


def _dataset_ops(dataset):
    """The op types of a tf.data pipeline's graph."""
    variant = dataset._variant_tensor  # pylint: disable=protected-access
    graph = tf.compat.v1.GraphDef.FromString(
        tf.raw_ops.DatasetToGraphV2(input_dataset=variant).numpy())
    return {node.op for node in graph.node} | {
        node.op for function in graph.library.function for node in function.node_def}


def test_training_reads_are_not_cached_by_tfds_but_evaluation_reads_are(tmp_path):
    """A training read stops part way through an epoch; TFDS's auto-cache of a small split
    would then be dropped with a warning at the end of every short run."""
    data_dir = str(tmp_path / "tfds")
    pipeline.prepare_split("gta5", data_dir=data_dir, manual_dir=GTA5_DUMMY)
    evaluation = pipeline.load_split("gta5", "train", data_dir=data_dir)
    training = pipeline.load_split("gta5", "train", data_dir=data_dir, shuffle_files=True,
                                   seed=0)
    assert any(op.startswith("CacheDataset") for op in _dataset_ops(evaluation))
    assert not any(op.startswith("CacheDataset") for op in _dataset_ops(training))
    # The same examples in the same order: one record file, so shuffling it is no change.
    for (image, label), (cached_image, cached_label) in zip(training, evaluation):
        np.testing.assert_array_equal(image, cached_image)
        np.testing.assert_array_equal(label, cached_label)
