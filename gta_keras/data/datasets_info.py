"""What each dataset's examples look like, and how to read them as (image, label)."""

import collections

import tensorflow as tf

from gta_keras import label_maps
from gta_keras import protocols

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
    if _base_name(name) == CITYSCAPES:
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


LabelSpace = collections.namedtuple("LabelSpace",
                                    ["class_names", "prediction_lookup", "protocols"])
LabelSpace.__doc__ = """How a dataset's labels are scored against trainId predictions.

class_names: names of the label classes, in id order.
prediction_lookup: 256-entry table mapping predicted trainIds into the label space, or None.
protocols: protocol name -> class ids averaged over, each reported as "miou<name>".
"""
CAMVID = "camvid"


def label_space(name, num_classes=protocols.NUM_CITYSCAPES_CLASSES,
                cityscapes_protocols=False):
    """The label space of a dataset, for evaluation.

    CamVid keeps its own 11 classes; predictions are mapped into them and the paper's
    Table 5 averages over the 10 classes CamVid shares with SYNTHIA and Cityscapes. Every
    other dataset is labelled in Cityscapes trainIds.

    Args:
      name: TFDS name.
      num_classes: the model's classes.
      cityscapes_protocols: also report the 19/16/13-class mIoUs.

    Returns:
      A `LabelSpace`.
    """
    if _base_name(name) == CAMVID:
        return LabelSpace(protocols.CAMVID_CLASSES, protocols.train_id_to_camvid_lookup(),
                          {"10": protocols.CAMVID_SHARED_CLASS_IDS})
    named = {str(n): ids for n, ids in protocols.PROTOCOL_CLASS_IDS.items()}
    return LabelSpace(protocols.CITYSCAPES_CLASSES[:num_classes], None,
                      named if cityscapes_protocols else {})


def _base_name(name):
    return name.split("/")[0].split(":")[0]
