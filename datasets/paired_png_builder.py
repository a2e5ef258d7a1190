"""What the manually downloaded datasets share: image/label PNG pairs and their builder.

GTA5, SYNTHIA-RAND-CITYSCAPES and CamVid all come as a folder of RGB frames next to a folder
of same-named label PNGs. This module pairs such folders, reads the frames, and holds the
TFDS builder they share; each dataset's module says where its folders are, how its labels
are stored and which table maps them.
"""

import abc
import dataclasses
import sys
import zlib

from absl import logging
from etils import epath
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

from gta_keras import label_maps
from gta_keras.datasets import make_validation_lists


class IncompleteDownloadError(FileNotFoundError):
    """The manual download has frames, but none of those a fixed split is made of."""


@dataclasses.dataclass(frozen=True)
class Pair:
    """An image and its label file."""

    image_id: str
    image_path: epath.Path
    label_path: epath.Path


@dataclasses.dataclass(frozen=True)
class Scan:
    """What a dataset's `scan_manual_dir` found.

    Attributes:
      root: the folder holding the image and label folders.
      splits: split name -> pairs, sorted by file name.
      unpaired: files in one folder without a same-named file in its partner.
      notes: facts worth logging, such as how much of the validation list is present.
    """

    root: epath.Path
    splits: dict
    unpaired: tuple
    notes: tuple


def pair_folders(images, labels):
    """Pairs the PNGs of an image folder with the same-named ones of a label folder.

    Args:
      images: the folder of frames.
      labels: the folder of labels.

    Returns:
      (pairs, unpaired): the `Pair`s sorted by file name, and the paths without a partner,
      those of `images` first, each group sorted.
    """
    image_names, label_names = (
        {path.name for path in folder.iterdir() if path.suffix.lower() == ".png"}
        for folder in (images, labels)
    )
    pairs = [
        Pair(epath.Path(name).stem, images / name, labels / name)
        for name in sorted(image_names & label_names)
    ]
    unpaired = sorted(images / name for name in image_names - label_names)
    unpaired += sorted(labels / name for name in label_names - image_names)
    return pairs, unpaired


def scan_with_validation_list(root, images, labels, validation_list, display_name,
                              instructions):
    """Pairs two folders and puts the pairs a validation list names in "validation".

    The others go to "train". GTA5 and SYNTHIA have no official validation split, so a
    committed list (see make_validation_lists.py) fixes one.

    Args:
      root: the folder the pairs were found in, for the `Scan` and the error message.
      images: the folder of frames.
      labels: the folder of same-named labels.
      validation_list: the committed list file.
      display_name: the dataset's name in the error message, such as "GTA5".
      instructions: the dataset's MANUAL_DOWNLOAD_INSTRUCTIONS, for the error message.

    Returns:
      A `Scan` with a note on how much of the validation list is present.

    Raises:
      FileNotFoundError: if the folders hold no pairs; the message quotes `instructions`.
      IncompleteDownloadError: if a split would be empty (e.g. no frame of the validation
        list is present), before TFDS writes anything; the message names the split, the
        folders and the frames missing.
    """
    pairs, unpaired = pair_folders(images, labels)
    if not pairs:
        raise FileNotFoundError(
            f"{display_name}: no image/label pairs (same file name in both folders) under "
            f"{root}.\n{instructions}"
        )
    validation = make_validation_lists.read_validation_list(validation_list.read_text())
    splits = {"train": [], "validation": []}
    for pair in pairs:
        splits["validation" if pair.image_path.name in validation else "train"].append(pair)
    # Checked here, before TFDS writes anything: TFDS itself stops only after writing the
    # other split, with a bare "No examples were yielded" that names no folder.
    list_name = f"datasets/{validation_list.parent.name}/{validation_list.name}"
    if not splits["validation"]:
        missing = sorted(validation)
        raise IncompleteDownloadError(
            f"{display_name}'s validation split would be empty: none of the "
            f"{len(validation)} frames that {list_name} names (e.g. "
            f"{', '.join(missing[:3])}) has both its image in {images} and its label in "
            f"{labels}; the {len(pairs)} pairs found are all training frames. The download "
            "is incomplete: extract every archive into the folder, then rerun."
        )
    if not splits["train"]:
        raise IncompleteDownloadError(
            f"{display_name}'s train split would be empty: all {len(pairs)} pairs in "
            f"{images} and {labels} are validation frames named in {list_name}. The "
            "download is incomplete: extract every archive into the folder, then rerun."
        )
    note = (
        f"The validation list names {len(validation)} frames; "
        f"{len(splits['validation'])} of them are present."
    )
    return Scan(root, splits, tuple(unpaired), (note,))


def decode_error(path, reason, remedy, dataset):
    """The error for an undecodable file, saying what to do and how to find the others.

    Args:
      path: the file.
      reason: what the decoder said.
      remedy: how to get an intact copy, such as "re-extract it from its archive".
      dataset: the dataset's TFDS name, for the doctor command.

    Returns:
      A `ValueError` naming the file.
    """
    return ValueError(
        f"Cannot decode {path}: {reason}. The file is damaged or not a PNG: {remedy}, or "
        f"delete the pair. `python scripts/doctor.py --dataset={dataset} --manual_dir=DIR` "
        "lists every such file."
    )


def open_png(path, remedy, dataset):
    """Opens and fully decodes an image file with PIL, naming it if it is unreadable.

    Args:
      path: the file.
      remedy: how to get an intact copy (see `decode_error`).
      dataset: the dataset's TFDS name.

    Returns:
      The decoded `PIL.Image.Image`.

    Raises:
      ValueError: if the file cannot be decoded; the message names it.
    """
    try:
        with path.open("rb") as f:
            image = Image.open(f)
            image.load()
    except (OSError, SyntaxError, ValueError, zlib.error) as error:
        raise decode_error(path, error, remedy, dataset) from error
    return image


def read_rgb(path, remedy, dataset):
    """Reads an RGB frame.

    Args:
      path: the image file.
      remedy: how to get an intact copy (see `decode_error`).
      dataset: the dataset's TFDS name.

    Returns:
      A uint8 array of shape [H, W, 3].

    Raises:
      ValueError: if the file cannot be decoded; the message names it.
    """
    return np.asarray(open_png(path, remedy, dataset).convert("RGB"))


class PairedPngBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A builder of image/label pairs from `manual_dir`, labels mapped through a table.

    Pairs whose image and label sizes differ are skipped and counted in the build log.
    Subclasses set `DISPLAY_NAME`, `HOMEPAGE` and `MANUAL_DOWNLOAD_INSTRUCTIONS` and fill in
    the abstract methods. This class is abstract and skips registration, so TFDS neither
    lists it nor finds it in place of the builder of the module that imports it.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    # The dataset's name in log messages, such as "GTA5".
    DISPLAY_NAME = None
    HOMEPAGE = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # setup.py installs the folder datasets/ as the package gta_keras.datasets. TFDS
        # guesses the dataset folder from the module name (gta_keras/datasets/<name>/), which
        # does not exist in an editable install, so name the folder of the module defining
        # the builder: README.md, CITATIONS.bib and dummy_data/ are found from there.
        cls.pkg_dir_path = epath.Path(sys.modules[cls.__module__].__file__).parent

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls):
        # The defining module's file, not this one: TFDS's tests find dummy_data/ next to it.
        return epath.Path(sys.modules[cls.__module__].__file__)

    @staticmethod
    @abc.abstractmethod
    def scan_manual_dir(manual_dir):
        """Finds the pairs of each split in `manual_dir` and returns a `Scan`."""

    @staticmethod
    @abc.abstractmethod
    def read_image(path):
        """Reads a frame as a uint8 array of shape [H, W, 3]."""

    @staticmethod
    @abc.abstractmethod
    def read_raw_label(path):
        """Reads a label as an integer array of shape [H, W] of the dataset's own ids."""

    @abc.abstractmethod
    def lookup_table(self):
        """The table (see gta_keras.label_maps) from raw label ids to stored labels."""

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3), encoding_format="png"),
                    "label": tfds.features.Image(shape=(None, None, 1), encoding_format="png"),
                    "image_id": tfds.features.Text(),
                }
            ),
            supervised_keys=("image", "label"),
            homepage=self.HOMEPAGE,
        )

    def _split_generators(self, dl_manager):
        scan = self.scan_manual_dir(dl_manager.manual_dir)
        for note in scan.notes:
            logging.info("%s: %s", self.DISPLAY_NAME, note)
        if scan.unpaired:
            logging.warning(
                "%s: ignoring %d file(s) without a partner: %s",
                self.DISPLAY_NAME,
                len(scan.unpaired),
                ", ".join(str(path) for path in scan.unpaired),
            )
        return {split: self._generate_examples(pairs) for split, pairs in scan.splits.items()}

    def _generate_examples(self, pairs):
        table = self.lookup_table()
        skipped = 0
        for pair in pairs:
            image = self.read_image(pair.image_path)
            raw_label = self.read_raw_label(pair.label_path)
            if image.shape[:2] != raw_label.shape:
                skipped += 1
                logging.warning(
                    "%s: skipping %s: image %s is %dx%d but label %s is %dx%d.",
                    self.DISPLAY_NAME, pair.image_id, pair.image_path, image.shape[1],
                    image.shape[0], pair.label_path, raw_label.shape[1], raw_label.shape[0],
                )
                continue
            yield pair.image_id, {
                "image": image,
                "label": label_maps.apply_lookup(table, raw_label)[..., None],
                "image_id": pair.image_id,
            }
        if skipped:
            logging.warning(
                "%s: skipped %d of %d pairs with mismatched image/label sizes.",
                self.DISPLAY_NAME, skipped, len(pairs),
            )
