"""tf.data pipelines: (source image, source label, target image) triplets and eval pairs."""

import re
import textwrap

import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from gta_keras import errors
from gta_keras.data import builders  # pylint: disable=unused-import
from gta_keras.data import datasets_info
from gta_keras.data import preprocessing
from gta_keras.datasets import paired_png_builder


# Training crops: the paper's "resized and cropped", or the reference code's native ones.
CROPS = ("resized", "native")
# Which domain's labels training reads: the source's (every method but one), or the
# target's (method "target_only", the paper's crude upper bound).
LABELLED_DOMAINS = ("source", "target")


class DatasetUnavailableError(RuntimeError):
    """A dataset is not prepared and cannot be prepared here (e.g. manual download)."""


# Defined in gta_keras.errors (the models raise it too); the name stays here for the
# modules that have always used `pipeline.ConfigurationError`.
ConfigurationError = errors.ConfigurationError


class EmptySplitError(ConfigurationError):
    """A split (or slice of one) that does not exist or holds no examples."""


def prepare_split(name, data_dir=None, manual_dir=None):
    """Makes sure a TFDS dataset is on disk (downloading or generating it if it can).

    Args:
      name: TFDS name, e.g. "procedural_streets/synthetic" or "gta5".
      data_dir: TFDS data dir; None for TFDS's default (~/tensorflow_datasets).
      manual_dir: folder holding manually downloaded archives, for datasets that need them.

    Returns:
      The prepared `tfds` builder.

    Raises:
      DatasetUnavailableError: with what is missing and where to get it.
    """
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise DatasetUnavailableError(
            f"TFDS does not know the dataset {name!r}: {error}") from error
    try:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    except paired_png_builder.IncompleteDownloadError as error:
        # Frames are there, but not those a fixed split needs: the builder's message says
        # which split, folder and frames.
        raise DatasetUnavailableError(
            f"Cannot prepare {name!r} from {_manual_folder(builder, manual_dir)}: "
            f"{error}") from error
    except (AssertionError, FileNotFoundError) as error:
        empty = re.search(r'split "([^"]+)": No examples were yielded', str(error))
        if empty:
            raise DatasetUnavailableError(
                _empty_split_message(name, builder, manual_dir, empty[1], error)
            ) from error
        # A missing manual download: TFDS raises AssertionError for a missing or empty
        # manual_dir (and TFDS's cityscapes for missing zips), this package's builders
        # FileNotFoundError for missing folders or files.
        raise DatasetUnavailableError(
            _manual_download_message(name, builder, manual_dir, error)
        ) from error
    return builder


def load_split(name, split, data_dir=None, manual_dir=None, shuffle_files=False,
               seed=None):
    """Prepares (if needed) and loads one split of a TFDS dataset as (image, label) pairs.

    Args:
      name: TFDS name, e.g. "procedural_streets/synthetic" or "gta5".
      split: split name, e.g. "train".
      data_dir: TFDS data dir; None for TFDS's default (~/tensorflow_datasets).
      manual_dir: folder holding manually downloaded archives, for datasets that need them.
      shuffle_files: whether to shuffle the record files (training).
      seed: seed of the file shuffling.

    Returns:
      A `tf.data.Dataset` of (image uint8 [H, W, 3], label uint8 [H, W, 1]) in the
      dataset's label space (Cityscapes trainIds, 255 void, for all but CamVid).

    Raises:
      DatasetUnavailableError: with what is missing and where to get it.
    """
    builder = prepare_split(name, data_dir, manual_dir)
    # TFDS keeps a small split in memory after its first full read (auto-cache). Training
    # reads (shuffle_files) stop part way through an epoch, and TFDS then drops the
    # partial cache with a warning at the end of every run shorter than an epoch; all it
    # saves is decoding, and the input pipeline is tens of times faster than a step. The
    # examples and their order are the same either way (600 demo batches compared).
    read_config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=not shuffle_files)
    try:
        dataset = builder.as_dataset(split=split, shuffle_files=shuffle_files,
                                     read_config=read_config)
    except ValueError as error:  # TFDS: "Unknown split", "corresponds to no data", ...
        raise _split_error(name, split, builder, error) from error
    return dataset.map(datasets_info.standardizer(name),
                       num_parallel_calls=tf.data.AUTOTUNE)


def check_split(name, split, data_dir=None, manual_dir=None):
    """Makes sure a split (or slice, "validation[:50]") exists and holds examples.

    Prepares the dataset if needed, as `load_split` does, and reads nothing.

    Raises:
      DatasetUnavailableError: with what is missing and where to get it.
      EmptySplitError: when the split is unknown or empty; the message lists the splits.
    """
    dataset = load_split(name, split, data_dir=data_dir, manual_dir=manual_dir)
    if int(dataset.cardinality()) == 0:
        raise _split_error(name, split, prepare_split(name, data_dir, manual_dir),
                           "no examples")


def _split_error(name, split, builder, reason):
    """The `EmptySplitError` for a split of `builder` that cannot be read."""
    splits = ", ".join(f"{key} ({info.num_examples} examples)"
                       for key, info in builder.info.splits.items())
    return EmptySplitError(
        f"The split {split!r} of {name!r} is empty or does not exist ({reason}): there is "
        f"nothing to read. {name!r} has {splits}; name one of those where the split is set "
        "(evaluate.datasets, make_train_dataset.source_split or target_split, ...).")


def _empty_split_message(name, builder, manual_dir, split, error):
    """TFDS found no example of `split` when it prepared the dataset (and kept nothing)."""
    # E.g. every frame of the split missing from TFDS's own cityscapes zips, or every one
    # skipped for an image/label size mismatch.
    message = (f"Cannot prepare {name!r} from {_manual_folder(builder, manual_dir)}: its "
               f"split {split!r} came out empty (TFDS: \"{error}\"): that split's frames are "
               "missing or every one was skipped (the log above says why). Complete the "
               "download")
    if isinstance(builder, paired_png_builder.PairedPngBuilder):  # doctor.py knows these.
        message += (", or list the unusable files with `python scripts/doctor.py "
                    f"--dataset={builder.name} --manual_dir=DIR`")
    return message + "."


def _manual_folder(builder, manual_dir):
    """The folder TFDS reads a manual download from: --manual_dir or its default."""
    return manual_dir or builder.data_dir_root / "downloads" / "manual"


def _manual_download_message(name, builder, manual_dir, error):
    """What is missing, where it was looked for, and how to get it."""
    if manual_dir is None:
        where = (f"no --manual_dir was given, so TFDS looked in "
                 f"{builder.data_dir_root / 'downloads' / 'manual'}")
    else:
        where = f"looked in --manual_dir={manual_dir}"
    message = (f"Dataset {name!r} is not in the TFDS data dir {builder.data_dir_root} "
               f"and its manual download is missing ({where}).\n{error}")
    instructions = textwrap.dedent(builder.MANUAL_DOWNLOAD_INSTRUCTIONS or "").strip()
    if instructions and instructions not in str(error):
        # E.g. TFDS's cityscapes names the missing zips but not the page to get them.
        message += f"\nHow to get it ({name}):\n{instructions}"
    return message


@gin.configurable(denylist=["seed", "start_step", "data_dir", "manual_dir", "load_fn",
                           "before_reading", "prepare_fn"])
def make_train_dataset(source=gin.REQUIRED, target=gin.REQUIRED, image_size=(320, 640),
                       batch_size=1, seed=0, crop="resized", min_crop_fraction=0.5,
                       source_width=None,
                       source_split="train", target_split="train", shuffle_buffer=1000,
                       labelled_domain="source", start_step=0, data_dir=None,
                       manual_dir=None, load_fn=load_split, before_reading=None,
                       prepare_fn=prepare_split):
    """Infinite, shuffled batches of (x_s, y_s, x_t) for `DomainAdaptationModel.fit`.

    Both domains get the same kind of random crop: "resized" (the paper's "resized and
    cropped": a window with the output's aspect ratio, at least `min_crop_fraction` of
    the largest, resized to `image_size`) or "native" (the reference code's: an
    `image_size` window at the frame's own resolution). Target labels are dropped
    before anything else happens: the target is unlabelled.

    With `labelled_domain = "target"` (method "target_only" only; `experiment.train`
    refuses any other pairing), the labelled stream reads the target's training split
    with its labels instead of the source, cropped as the source would be, and the source
    is not read: the triplets are (x_t, y_t, x_t'), x_t' another target stream that
    target_only ignores.

    Args:
      source: TFDS name of the labelled source, e.g. "synthia_rand_cityscapes".
      target: TFDS name of the unlabelled target, e.g. "cityscapes/semantic_segmentation".
      image_size: (height, width) of the training crops; sides must divide by 32.
      batch_size: triplets per batch; 1 in the paper.
      seed: seed for shuffling and cropping; the same seed gives the same batches.
      crop: "resized" or "native"; see above.
      min_crop_fraction: for "resized", the smallest crop as a fraction of the largest
        (1.0: no scale jitter).
      source_width: if set, source frames are first resized to this width, aspect kept
        (the reference code: 1280 for GTA5's 1914 px frames).
      source_split: split of the source.
      target_split: split of the target.
      shuffle_buffer: examples in each shuffle buffer.
      labelled_domain: "source" (default) or "target" (the target-only bound); see above.
      start_step: the first batch is the one a run from step 0 would train on at this
        step: a resumed run (`experiment.train`) sees the batches, crops and order of the
        uninterrupted run. The fast-forward reads, decodes and shuffles
        `start_step * batch_size` examples of each domain, without cropping them.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.
      load_fn: `load_split`-like loader (tests inject their own).
      before_reading: if given, called once both datasets are on disk (`prepare_fn`) and
        before either is read; `experiment.train` seeds the global random state there.
      prepare_fn: `prepare_split`-like; only called when `before_reading` is given.

    Returns:
      A `tf.data.Dataset` of (source_images float32 [B, H, W, 3] in [0, 255],
      source_labels uint8 [B, H, W, 1], target_images float32 [B, H, W, 3]).
    """
    _check_size(image_size)
    if crop not in CROPS:
        raise ConfigurationError(
            f"Unknown make_train_dataset.crop {crop!r}; use one of {CROPS}.")
    if labelled_domain not in LABELLED_DOMAINS:
        raise ConfigurationError(
            f"Unknown make_train_dataset.labelled_domain {labelled_domain!r}; "
                         f"use one of {LABELLED_DOMAINS}.")
    if labelled_domain == "target":
        # The target's labelled training split takes the source's place; source_width
        # is a setting of the source's frames, so it does not apply.
        source, source_split, source_width = target, target_split, None
    if before_reading is not None:
        prepare_fn(source, data_dir=data_dir, manual_dir=manual_dir)
        if target != source:
            prepare_fn(target, data_dir=data_dir, manual_dir=manual_dir)
        before_reading()
    source_ds = load_fn(source, source_split, data_dir=data_dir, manual_dir=manual_dir,
                        shuffle_files=True, seed=seed)
    target_ds = load_fn(target, target_split, data_dir=data_dir, manual_dir=manual_dir,
                        shuffle_files=True, seed=seed + 1)
    target_ds = target_ds.map(lambda image, *unused_label: image)

    def crop_pair(image, label, seed_pair):
        if crop == "native":
            return preprocessing.random_native_crop(image, label, image_size, seed_pair)
        return preprocessing.random_crop_and_resize(image, label, image_size,
                                                    min_crop_fraction, seed_pair)

    def crop_source(index, example):
        image, label = example
        if source_width:
            image, label = preprocessing.resize_to_width(image, label, source_width)
        return crop_pair(image, label, _seed(seed, index))

    def crop_target(index, image):
        # Crops the image alone: a placeholder label keeps one crop function for both.
        placeholder = tf.zeros_like(image[..., :1])
        cropped, _ = crop_pair(image, placeholder, _seed(seed + 1, index))
        return cropped

    # The examples already trained on are skipped before they are cropped: their indices
    # (the crops' seeds) and the shuffle's state stay those of the uninterrupted run.
    skipped = start_step * batch_size
    source_ds = (source_ds.shuffle(shuffle_buffer, seed=seed).repeat().enumerate()
                 .skip(skipped).map(crop_source, num_parallel_calls=tf.data.AUTOTUNE))
    target_ds = (target_ds.shuffle(shuffle_buffer, seed=seed + 1).repeat().enumerate()
                 .skip(skipped).map(crop_target, num_parallel_calls=tf.data.AUTOTUNE))
    triplets = tf.data.Dataset.zip(source_ds, target_ds).map(
        lambda source, target_image: (source[0], source[1], target_image))
    batches = triplets.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    # Several workers (MultiWorkerMirroredStrategy): each keeps its own share of every
    # global batch, so the workers together train on the batches of one device. (On one
    # host this option does nothing.)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return batches.with_options(options)


def make_eval_dataset(name, split, batch_size=1, data_dir=None, manual_dir=None,
                      load_fn=load_split):
    """(image, label) batches at the dataset's own size, in a fixed order.

    Args:
      name: TFDS name.
      split: split name.
      batch_size: images per batch; 1 unless all images share one size.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.
      load_fn: `load_split`-like loader.

    Returns:
      A `tf.data.Dataset` of (images float32 [B, H, W, 3] in [0, 255], labels uint8
      [B, H, W, 1]).
    """
    dataset = load_fn(name, split, data_dir=data_dir, manual_dir=manual_dir)
    dataset = dataset.map(lambda image, label: (tf.cast(image, tf.float32), label))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _seed(seed, index):
    """A per-example stateless seed: the same (seed, index) always crops the same way."""
    return tf.stack([tf.constant(seed, tf.int64), tf.cast(index, tf.int64)])


def _check_size(image_size):
    height, width = image_size
    if height % 32 or width % 32:
        raise ConfigurationError(
            f"Training size {tuple(image_size)} must have sides divisible by 32 (F's output "
            "stride); e.g. 320x640 or 512x1024.")
