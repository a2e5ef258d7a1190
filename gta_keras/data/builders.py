"""Imports every TFDS builder of the package once, so that TFDS knows their names.

TFDS's own `cityscapes` builder comes with tensorflow_datasets itself.
"""

# pylint: disable=unused-import
from gta_keras.datasets.camvid import camvid_dataset_builder
from gta_keras.datasets.gta5 import gta5_dataset_builder
from gta_keras.datasets.procedural_streets import procedural_streets_dataset_builder
from gta_keras.datasets.synthia_rand_cityscapes import synthia_rand_cityscapes_dataset_builder
