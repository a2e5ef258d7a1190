"""GTA5 ("Playing for Data") as a TFDS dataset, labels mapped to Cityscapes trainIds."""

import dataclasses
import zlib

from absl import logging
from etils import epath
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

from gta_keras import label_maps
from gta_keras.datasets import make_validation_lists

NAME = "gta5"
HOMEPAGE = "https://download.visinf.tu-darmstadt.de/data/from_games/"
IMAGES_DIR = "images"
LABELS_DIR = "labels"
VALIDATION_LIST = epath.Path(__file__).parent / make_validation_lists.LIST_FILE_NAME

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Download the 20 archives 01_images.zip .. 10_images.zip and 01_labels.zip .. 10_labels.zip
from {HOMEPAGE} ("Playing for Data: Ground Truth from Computer Games") and unzip all of them
into `manual_dir`, so that it holds

  manual_dir/{IMAGES_DIR}/00001.png .. 24966.png   (RGB frames)
  manual_dir/{LABELS_DIR}/00001.png .. 24966.png   (palette PNGs; indices = Cityscapes ids)

Keep the label PNGs as they are: their palette indices are the label ids, and converting them
to RGB destroys them. Check the folder with
`python scripts/doctor.py --dataset=gta5 --manual_dir=DIR`.
"""


@dataclasses.dataclass(frozen=True)
class Pair:
    """An image and its label file."""

    image_id: str
    image_path: epath.Path
    label_path: epath.Path


@dataclasses.dataclass(frozen=True)
class Scan:
    """What `scan_manual_dir` found.

    Attributes:
      root: the folder holding `images/` and `labels/`.
      splits: split name -> pairs, sorted by file name.
      unpaired: files in one folder without a same-named file in the other.
      notes: facts worth logging, such as how much of the validation list is present.
    """

    root: epath.Path
    splits: dict
    unpaired: tuple
    notes: tuple


def _png_names(folder):
    return {path.name for path in folder.iterdir() if path.suffix.lower() == ".png"}


def scan_manual_dir(manual_dir):
    """Finds the image/label pairs and assigns them to splits by the validation list.

    Args:
      manual_dir: the folder the user extracted the archives into.

    Returns:
      A `Scan`.

    Raises:
      FileNotFoundError: if a folder is missing or holds no pairs; the message says what
        is expected and where to get it.
    """
    root = epath.Path(manual_dir)
    folders = [root / IMAGES_DIR, root / LABELS_DIR]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise FileNotFoundError(
            f"GTA5: missing folder(s) {', '.join(missing)}.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}"
        )
    image_names, label_names = (_png_names(folder) for folder in folders)
    paired = sorted(image_names & label_names)
    if not paired:
        raise FileNotFoundError(
            f"GTA5: no image/label pairs (same file name in both folders) under {root}.\n"
            f"{MANUAL_DOWNLOAD_INSTRUCTIONS}"
        )
    unpaired = sorted(folders[0] / name for name in image_names - label_names)
    unpaired += sorted(folders[1] / name for name in label_names - image_names)
    validation = make_validation_lists.read_validation_list(VALIDATION_LIST.read_text())
    splits = {"train": [], "validation": []}
    for name in paired:
        split = "validation" if name in validation else "train"
        splits[split].append(Pair(epath.Path(name).stem, folders[0] / name, folders[1] / name))
    note = (
        f"The validation list names {len(validation)} frames; "
        f"{len(splits['validation'])} of them are present."
    )
    return Scan(root, splits, tuple(unpaired), (note,))


def _open_png(path):
    """Opens and fully decodes an image file, naming it if it is unreadable."""
    try:
        with path.open("rb") as f:
            image = Image.open(f)
            image.load()
    except (OSError, SyntaxError, ValueError, zlib.error) as error:
        raise ValueError(
            f"Cannot decode {path}: {error}. The file is damaged or not a PNG: re-extract it "
            "from its archive, or delete the pair. `python scripts/doctor.py --dataset=gta5 "
            "--manual_dir=DIR` lists every such file."
        ) from error
    return image


def read_image(path):
    """Reads an RGB frame.

    Args:
      path: the image file.

    Returns:
      A uint8 array of shape [H, W, 3].

    Raises:
      ValueError: if the file cannot be decoded; the message names it.
    """
    return np.asarray(_open_png(path).convert("RGB"))


def read_raw_label(path):
    """Reads a GTA5 label: the palette indices, which are Cityscapes label ids.

    Args:
      path: the label file.

    Returns:
      A uint8 array of shape [H, W] of Cityscapes label ids.

    Raises:
      ValueError: if the file cannot be decoded or is not a palette (or grayscale) PNG,
        whose colours would not be ids; the message names it.
    """
    image = _open_png(path)
    if image.mode not in ("P", "L"):
        raise ValueError(
            f"{path} has PIL mode {image.mode}, not a palette PNG (mode P): its pixels are "
            "colours, not Cityscapes label ids. Re-extract the original label archive."
        )
    return np.asarray(image)


class Builder(tfds.core.GeneratorBasedBuilder):
    """GTA5: 24,966 game frames with Cityscapes-compatible labels (Richter et al., 2016).

    Labels are Cityscapes trainIds (0..18, 255 void). Pairs whose image and label sizes
    differ (about 25 in the real data) are skipped and counted in the build log.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    # setup.py installs the folder datasets/ as the package gta_keras.datasets. TFDS guesses
    # this folder from the module name (gta_keras/datasets/gta5/), which does not exist in an
    # editable install, so name it: README.md and dummy_data/ are found from here.
    pkg_dir_path = epath.Path(__file__).parent

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls):
        return epath.Path(__file__)

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
            homepage=HOMEPAGE,
        )

    def _split_generators(self, dl_manager):
        scan = scan_manual_dir(dl_manager.manual_dir)
        for note in scan.notes:
            logging.info("GTA5: %s", note)
        if scan.unpaired:
            logging.warning(
                "GTA5: ignoring %d file(s) without a partner: %s",
                len(scan.unpaired),
                ", ".join(str(path) for path in scan.unpaired),
            )
        return {split: self._generate_examples(pairs) for split, pairs in scan.splits.items()}

    def _generate_examples(self, pairs):
        table = label_maps.gta5_lookup()
        skipped = 0
        for pair in pairs:
            image = read_image(pair.image_path)
            raw_label = read_raw_label(pair.label_path)
            if image.shape[:2] != raw_label.shape:
                skipped += 1
                logging.warning(
                    "GTA5: skipping %s: image %s is %dx%d but label %s is %dx%d.",
                    pair.image_id, pair.image_path, image.shape[1], image.shape[0],
                    pair.label_path, raw_label.shape[1], raw_label.shape[0],
                )
                continue
            yield pair.image_id, {
                "image": image,
                "label": label_maps.apply_lookup(table, raw_label)[..., None],
                "image_id": pair.image_id,
            }
        if skipped:
            logging.warning(
                "GTA5: skipped %d of %d pairs with mismatched image/label sizes.",
                skipped, len(pairs),
            )
