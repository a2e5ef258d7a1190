"""The initial weights of `experiment.train` depend on the seed alone.

Generating a dataset on first use (procedural_streets in the demo) draws from the global
random state; a fresh machine must start from the same weights as one with the data on disk.
"""

import random

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import experiment
from tests import tiny


class _WeightsBuilt(Exception):
    """Stops `train` once the model exists: nothing after that matters here."""


def _initial_weights(tmp_path, generates_data):
    """F's initial weights from `train`, with a loader that may 'generate' data first."""
    weights = []

    def make_dataset(before_reading, **unused_kwargs):
        if generates_data:
            # What a first-use generation does to the global state.
            random.random()  # Keras draws its default initializer seeds from here.
            np.random.rand(10)
            tf.random.uniform([10])
        before_reading()
        return tf.data.Dataset.from_tensors(tiny.batch()).repeat()

    def build_then_stop():
        weights.extend(w.numpy() for w in tiny.model().embedder.weights)
        raise _WeightsBuilt()

    # gin re-raises exceptions with a longer message, so the weights travel by closure.
    with pytest.raises(_WeightsBuilt):
        experiment.train(str(tmp_path / ("new" if generates_data else "old")), steps=10,
                         steps_per_epoch=10, seed=3, dataset_fn=make_dataset,
                         model_fn=build_then_stop)
    return weights


def test_initial_weights_do_not_depend_on_data_generation(tmp_path):
    on_disk = _initial_weights(tmp_path, generates_data=False)
    generated = _initial_weights(tmp_path, generates_data=True)
    assert len(on_disk) == len(generated) > 0
    for before, after in zip(on_disk, generated):
        np.testing.assert_array_equal(before, after)
