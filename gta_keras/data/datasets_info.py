"""What each dataset's examples look like, and how to read them as (image, label)."""

import tensorflow as tf

from gta_keras import label_maps

# TFDS's own Cityscapes builder (config "semantic_segmentation") stores label ids 0..33.
CITYSCAPES = "cityscapes"


def standardizer(name):
    """A function mapping one TFDS example of `name` to (image, label).

    Builders of this package store "image" and "label" (Cityscapes trainIds, 255 void;
    CamVid its own ids). TFDS's `cityscapes` stores "image_left" and
    "segmentation_label" in label ids, mapped here to trainIds. An example without labels
    (an unlabelled target) gets an all-void label.

    Args:
      name: TFDS name, with or without config and version.

    Returns:
      A function example dict -> (image uint8 [H, W, 3], label uint8 [H, W, 1]).
    """
    if name.split("/")[0].split(":")[0] == CITYSCAPES:
        table = label_maps.cityscapes_lookup()

        def standardize_cityscapes(example):
            label = label_maps.tf_apply_lookup(table, example["segmentation_label"])
            return example["image_left"], label

        return standardize_cityscapes

    def standardize(example):
        image = example["image"]
        label = example.get("label")
        if label is None:
            shape = tf.concat([tf.shape(image)[:2], [1]], 0)
            label = tf.fill(shape, tf.constant(label_maps.VOID_LABEL, tf.uint8))
        return image, label

    return standardize
