"""Image and label preprocessing, shared by training, evaluation and serving.

Images travel through the pipeline as float32 RGB in [0, 255]; each player turns them into
what it reads: F a mean-subtracted BGR image (the Caffe convention of the VGG16 weights),
D and the L1 reconstruction target an RGB image in [0, 1].
"""

import tensorflow as tf

from gta_keras import protocols

# Caffe VGG16 channel means, BGR order, as in keras.applications.vgg16.preprocess_input.
VGG_MEAN_BGR = (103.939, 116.779, 123.68)


def embedder_input(images):
    """RGB [0, 255] -> mean-subtracted BGR, F's input.

    Args:
      images: float or uint8 tensor [..., 3], RGB in [0, 255].

    Returns:
      float32 tensor of the same shape.
    """
    images = tf.cast(images, tf.float32)
    return images[..., ::-1] - tf.constant(VGG_MEAN_BGR, tf.float32)


def unit_range(images):
    """RGB [0, 255] -> RGB [0, 1], D's input and G's target."""
    return tf.cast(images, tf.float32) / 255.0


def resize_images(images, size):
    """Bilinear resize of images [B, H, W, 3] (or [H, W, 3]) to `size` (height, width)."""
    return tf.image.resize(tf.cast(images, tf.float32), size, method="bilinear")


def resize_labels(labels, size):
    """Nearest-neighbour resize of labels [..., H, W, 1], keeping ids and void intact."""
    resized = tf.image.resize(labels, size, method="nearest")
    return tf.cast(resized, labels.dtype)


def random_crop_and_resize(image, label, size, min_crop_fraction, seed):
    """Random crop with the aspect ratio of `size`, then resize to `size`.

    The crop's height is drawn uniformly between `min_crop_fraction` and the largest crop
    of that aspect that fits; its place uniformly. Labels follow the same crop and are
    resized nearest, so no new label values appear.

    Args:
      image: uint8 or float [H, W, 3].
      label: uint8 [H, W, 1].
      size: (height, width) of the output.
      min_crop_fraction: smallest crop, as a fraction of the largest one; 1.0 disables
        scale jitter.
      seed: stateless seed, shape [2] int tensor.

    Returns:
      (image float32 [h, w, 3] in [0, 255], label uint8 [h, w, 1]).
    """
    out_h, out_w = size
    shape = tf.shape(image)
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    aspect = out_w / out_h
    max_h = tf.minimum(height, width / aspect)
    seeds = tf.random.experimental.stateless_split(seed, 3)
    fraction = tf.random.stateless_uniform([], seeds[0], min_crop_fraction, 1.0)
    crop_h = tf.maximum(tf.cast(tf.floor(max_h * fraction), tf.int32), 1)
    crop_w = tf.minimum(tf.cast(tf.round(tf.cast(crop_h, tf.float32) * aspect), tf.int32),
                        shape[1])
    top = tf.random.stateless_uniform([], seeds[1], 0, shape[0] - crop_h + 1, tf.int32)
    left = tf.random.stateless_uniform([], seeds[2], 0, shape[1] - crop_w + 1, tf.int32)
    image = image[top:top + crop_h, left:left + crop_w]
    label = label[top:top + crop_h, left:left + crop_w]
    return resize_images(image, size), resize_labels(label, size)


def resize_to_width(image, label, width):
    """Resizes an (image, label) pair to `width`, keeping the aspect ratio.

    The reference code does this to GTA5 frames (to 1280 px) before its native crops.

    Args:
      image: uint8 or float [H, W, 3].
      label: uint8 [H, W, 1].
      width: the new width.

    Returns:
      (image float32 [h, width, 3], label uint8 [h, width, 1]); labels resized nearest.
    """
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    height = tf.cast(tf.round(shape[0] * width / shape[1]), tf.int32)
    size = tf.stack([height, tf.constant(width, tf.int32)])
    return resize_images(image, size), resize_labels(label, size)


def random_native_crop(image, label, size, seed):
    """A random `size` window at the image's own resolution (the reference's crops).

    An image smaller than `size` on a side is first enlarged just enough to cover it
    (aspect kept), so every frame yields a crop.

    Args:
      image: uint8 or float [H, W, 3].
      label: uint8 [H, W, 1].
      size: (height, width) of the crop.
      seed: stateless seed, shape [2] int tensor.

    Returns:
      (image float32 [h, w, 3] in [0, 255], label uint8 [h, w, 1]).
    """
    out_h, out_w = size
    shape = tf.shape(image)
    scale = tf.maximum(1.0, tf.maximum(out_h / tf.cast(shape[0], tf.float32),
                                       out_w / tf.cast(shape[1], tf.float32)))
    covering = tf.cast(tf.math.ceil(tf.cast(shape[:2], tf.float32) * scale), tf.int32)
    image = tf.cond(scale > 1.0, lambda: resize_images(image, covering),
                    lambda: tf.cast(image, tf.float32))
    label = tf.cond(scale > 1.0, lambda: resize_labels(label, covering), lambda: label)
    seeds = tf.random.experimental.stateless_split(seed, 2)
    top = tf.random.stateless_uniform([], seeds[0], 0, covering[0] - out_h + 1, tf.int32)
    left = tf.random.stateless_uniform([], seeds[1], 0, covering[1] - out_w + 1, tf.int32)
    image = image[top:top + out_h, left:left + out_w]
    label = label[top:top + out_h, left:left + out_w]
    return tf.ensure_shape(image, [out_h, out_w, 3]), tf.ensure_shape(label, [out_h, out_w, 1])


def labels_at(labels, size):
    """Labels [B, H, W, 1] resized nearest to `size`, squeezed to [B, h, w] int32.

    Used for D's auxiliary head, which sees labels at 1/8 of the input size.
    """
    return tf.cast(resize_labels(labels, size)[..., 0], tf.int32)


def round_to_multiple(size, multiple):
    """Rounds a (height, width) tensor to the nearest multiple (at least one multiple).

    F needs sides divisible by its output stride (32); images of other sizes are resized
    to the nearest such size and the result resized back.
    """
    rounded = tf.cast(tf.round(tf.cast(size, tf.float32) / multiple), tf.int32) * multiple
    return tf.maximum(rounded, multiple)


def is_void(labels):
    """True where a label is void (255)."""
    return tf.equal(tf.cast(labels, tf.int32), protocols.VOID_LABEL)
