"""A PNG grid of inputs, predictions, labels and G's reconstructions, for a quick look."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image

from gta_keras import protocols
from gta_keras.data import preprocessing

CITYSCAPES_PALETTE = protocols.CITYSCAPES_PALETTE


def colorize(labels):
    """Class ids [..., H, W] -> RGB uint8 [..., H, W, 3]; unknown ids and void are black."""
    labels = np.asarray(labels)
    palette = np.zeros((256, 3), np.uint8)
    palette[:len(CITYSCAPES_PALETTE)] = CITYSCAPES_PALETTE
    return palette[labels.astype(np.int64) % 256]


def prediction_rows(model, images, labels):
    """One row per image: input | prediction | ground truth | G's reconstruction.

    Args:
      model: a `DomainAdaptationModel`.
      images: float [B, H, W, 3] RGB in [0, 255], sides divisible by 32.
      labels: uint8 [B, H, W, 1].

    Returns:
      uint8 [B, H, 4 W, 3] (3 W for a model without a generator).
    """
    features = model.embedder(preprocessing.embedder_input(images), training=False)
    predictions = tf.argmax(model.classifier(features, training=False), -1).numpy()
    panels = [np.asarray(images).astype(np.uint8), colorize(predictions),
              colorize(np.asarray(labels)[..., 0])]
    if model.generator is not None:
        reconstruction = model.generator(features, training=False).numpy()
        panels.append((np.clip(reconstruction, 0, 1) * 255).astype(np.uint8))
    return np.concatenate(panels, axis=2)


def save_grid(rows_by_domain, path):
    """Stacks row blocks (one per domain) vertically and writes a PNG.

    Args:
      rows_by_domain: list of uint8 [B, H, W', 3] arrays.
      path: output PNG path; its folder is created.
    """
    grid = np.concatenate([np.concatenate(list(rows), axis=0) for rows in rows_by_domain],
                          axis=0)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(grid).save(path)
