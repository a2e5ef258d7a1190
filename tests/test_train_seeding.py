"""The initial weights of `experiment.train` depend on the seed alone.

Generating a dataset on first use (procedural_streets in the demo) draws from the global
random state; a fresh machine must start from the same weights as one with the data on disk.
"""

import random

import numpy as np
import pytest
import tensorflow as tf

from gta_keras import experiment
from gta_keras.models import factory
from tests import tiny


_BUILD_MODEL = factory.build_model  # before any test replaces it


class _WeightsBuilt(Exception):
    """Stops `train` once the model exists: nothing after that matters here."""


def _initial_weights(monkeypatch, tmp_path, generates_data):
    """F's initial weights from `train`, with a loader that may 'generate' data first."""
    calls, weights = [], []

    def fake_make_train_dataset(**unused_kwargs):
        if generates_data and not calls:
            # What a first-use generation does to the global state.
            random.random()  # Keras draws its default initializer seeds from here.
            np.random.rand(10)
            tf.random.uniform([10])
        calls.append(1)
        return tf.data.Dataset.from_tensors(tiny.batch()).repeat()

    def build_then_stop(**unused_kwargs):
        model = _BUILD_MODEL(num_classes=tiny.NUM_CLASSES, width_multiplier=1 / 32,
                             fc_width=8)
        weights.extend(w.numpy() for w in model.embedder.weights)
        raise _WeightsBuilt()

    monkeypatch.setattr(experiment.pipeline, "make_train_dataset", fake_make_train_dataset)
    monkeypatch.setattr(experiment.factory, "build_model", build_then_stop)
    # gin re-raises exceptions with a longer message, so the weights travel by closure.
    with pytest.raises(_WeightsBuilt):
        experiment.train(str(tmp_path / ("new" if generates_data else "old")), steps=10,
                         steps_per_epoch=10, seed=3)
    return weights


def test_initial_weights_do_not_depend_on_data_generation(monkeypatch, tmp_path):
    on_disk = _initial_weights(monkeypatch, tmp_path, generates_data=False)
    generated = _initial_weights(monkeypatch, tmp_path, generates_data=True)
    assert len(on_disk) == len(generated) > 0
    for before, after in zip(on_disk, generated):
        np.testing.assert_array_equal(before, after)
