"""Imports every TFDS builder of the package once, so that TFDS knows their names."""

# pylint: disable=unused-import
from gta_keras.datasets.procedural_streets import procedural_streets_dataset_builder
