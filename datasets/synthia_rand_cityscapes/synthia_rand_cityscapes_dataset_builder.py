"""SYNTHIA-RAND-CITYSCAPES as a TFDS dataset, labels mapped to Cityscapes trainIds."""

import dataclasses
import struct
import zlib

from absl import logging
from etils import epath
import numpy as np
from PIL import Image
import tensorflow as tf
import tensorflow_datasets as tfds

from gta_keras import label_maps
from gta_keras.datasets import make_validation_lists

NAME = "synthia_rand_cityscapes"
HOMEPAGE = "https://synthia-dataset.net/downloads/"
ARCHIVE = "SYNTHIA_RAND_CITYSCAPES.rar"
ARCHIVE_FOLDER = "RAND_CITYSCAPES"
IMAGES_DIR = "RGB"
LABELS_DIR = "GT/LABELS"
VALIDATION_LIST = epath.Path(__file__).parent / make_validation_lists.LIST_FILE_NAME

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Download {ARCHIVE} ("SYNTHIA-RAND-CITYSCAPES (CVPR16)") from {HOMEPAGE} and extract it
(`unrar x {ARCHIVE}`) into `manual_dir`, so that it holds either

  manual_dir/{IMAGES_DIR}/0000000.png .. 0009399.png        (RGB frames)
  manual_dir/{LABELS_DIR}/0000000.png .. 0009399.png  (16-bit PNGs; class id in channel 1)

or the same under manual_dir/{ARCHIVE_FOLDER}/. Use the original 16-bit label PNGs: most
image tools save them back as 8 bits, which destroys the class ids. Some unrar versions
write names such as 'RGB\\0000000.png' (with a backslash) or damage a few label files;
check the folder with `python scripts/doctor.py --dataset={NAME} --manual_dir=DIR`.
"""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
      root: the folder holding `RGB/` and `GT/LABELS/`.
      splits: split name -> pairs, sorted by file name.
      unpaired: files in one folder without a same-named file in the other.
      notes: facts worth logging, such as how much of the validation list is present.
    """

    root: epath.Path
    splits: dict
    unpaired: tuple
    notes: tuple


@dataclasses.dataclass
class SynthiaConfig(tfds.core.BuilderConfig):
    """A label mapping variant.

    Attributes:
      map_lane_and_parking_to_road: map lane marking (22) and parking slot (13) to road
        instead of void.
    """

    map_lane_and_parking_to_road: bool = False


def _png_names(folder):
    return {path.name for path in folder.iterdir() if path.suffix.lower() == ".png"}


def _find_root(manual_dir):
    """The folder holding RGB/ and GT/LABELS/: manual_dir or its RAND_CITYSCAPES/."""
    manual_dir = epath.Path(manual_dir)
    for root in (manual_dir, manual_dir / ARCHIVE_FOLDER):
        if all((root / folder).is_dir() for folder in (IMAGES_DIR, LABELS_DIR)):
            return root
    missing = [
        str(manual_dir / folder)
        for folder in (IMAGES_DIR, LABELS_DIR)
        if not (manual_dir / folder).is_dir()
    ]
    hint = ""
    if manual_dir.is_dir() and any("\\" in path.name for path in manual_dir.iterdir()):
        hint = (
            "\nFile names there contain backslashes: the archive was extracted with Windows "
            "separators. Move each 'A\\B\\C.png' to 'A/B/C.png' (see the README)."
        )
    raise FileNotFoundError(
        f"SYNTHIA: missing folder(s) {', '.join(missing)} (also looked in "
        f"{manual_dir / ARCHIVE_FOLDER}).{hint}\n{MANUAL_DOWNLOAD_INSTRUCTIONS}"
    )


def scan_manual_dir(manual_dir):
    """Finds the image/label pairs and assigns them to splits by the validation list.

    Args:
      manual_dir: the folder the user extracted the archive into.

    Returns:
      A `Scan`.

    Raises:
      FileNotFoundError: if a folder is missing or holds no pairs; the message says what
        is expected and where to get it.
    """
    root = _find_root(manual_dir)
    folders = [root / IMAGES_DIR, root / LABELS_DIR]
    image_names, label_names = (_png_names(folder) for folder in folders)
    paired = sorted(image_names & label_names)
    if not paired:
        raise FileNotFoundError(
            f"SYNTHIA: no image/label pairs (same file name in both folders) under {root}.\n"
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


def _decode_error(path, reason):
    return ValueError(
        f"Cannot decode {path}: {reason}. The file is damaged or not a PNG: re-extract it "
        f"from the archive, or delete the pair. `python scripts/doctor.py --dataset={NAME} "
        "--manual_dir=DIR` lists every such file."
    )


def read_image(path):
    """Reads an RGB frame.

    Args:
      path: the image file.

    Returns:
      A uint8 array of shape [H, W, 3].

    Raises:
      ValueError: if the file cannot be decoded; the message names it.
    """
    try:
        with path.open("rb") as f:
            image = Image.open(f)
            image.load()
    except (OSError, SyntaxError, ValueError, zlib.error) as error:
        raise _decode_error(path, error) from error
    return np.asarray(image.convert("RGB"))


def _png_bit_depth(path, data):
    """The bit depth in a PNG's header, which comes first in every valid PNG."""
    if len(data) < 33 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise _decode_error(path, "no PNG header")
    (bit_depth,) = struct.unpack(">B", data[24:25])
    return bit_depth


def read_raw_label(path):
    """Reads a SYNTHIA label: the class ids in the first channel of a 16-bit PNG.

    Args:
      path: the label file.

    Returns:
      A uint16 array of shape [H, W] of SYNTHIA class ids.

    Raises:
      ValueError: if the file cannot be decoded, or is not 16-bit: an 8-bit copy has lost
        the class ids, so it is refused by name rather than read as wrong labels.
    """
    data = path.read_bytes()
    bit_depth = _png_bit_depth(path, data)
    if bit_depth != 16:
        raise ValueError(
            f"{path} has bit depth {bit_depth}, but SYNTHIA labels are 16-bit PNGs with the "
            "class id in the first channel; a copy saved with fewer bits has lost the ids. "
            f"Re-extract the original from {ARCHIVE}."
        )
    try:
        # PIL would read a 16-bit RGB PNG as 8-bit RGB and lose the ids; TensorFlow keeps them.
        label = tf.io.decode_png(data, channels=0, dtype=tf.uint16)
    except tf.errors.OpError as error:
        raise _decode_error(path, error.message) from error
    return label.numpy()[..., 0]


class Builder(tfds.core.GeneratorBasedBuilder):
    """SYNTHIA-RAND-CITYSCAPES: 9,400 synthetic frames (Ros et al., 2016).

    Labels are Cityscapes trainIds (0..18, 255 void); the paper evaluates SYNTHIA on the 16
    classes without terrain, truck and train. Pairs whose image and label sizes differ are
    skipped and counted in the build log.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    BUILDER_CONFIGS = [
        SynthiaConfig(
            name="default",
            description="Lane marking and parking slot are void (as in DAFormer and FDA).",
        ),
        SynthiaConfig(
            name="lane_and_parking_as_road",
            description="Lane marking and parking slot are road (as in some codebases).",
            map_lane_and_parking_to_road=True,
        ),
    ]
    # setup.py installs the folder datasets/ as the package gta_keras.datasets. TFDS guesses
    # this folder from the module name (gta_keras/datasets/...), which does not exist in an
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
            logging.info("SYNTHIA: %s", note)
        if scan.unpaired:
            logging.warning(
                "SYNTHIA: ignoring %d file(s) without a partner: %s",
                len(scan.unpaired),
                ", ".join(str(path) for path in scan.unpaired),
            )
        return {split: self._generate_examples(pairs) for split, pairs in scan.splits.items()}

    def _generate_examples(self, pairs):
        table = label_maps.synthia_lookup(
            map_lane_and_parking_to_road=self.builder_config.map_lane_and_parking_to_road
        )
        skipped = 0
        for pair in pairs:
            image = read_image(pair.image_path)
            raw_label = read_raw_label(pair.label_path)
            if image.shape[:2] != raw_label.shape:
                skipped += 1
                logging.warning(
                    "SYNTHIA: skipping %s: image %s is %dx%d but label %s is %dx%d.",
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
                "SYNTHIA: skipped %d of %d pairs with mismatched image/label sizes.",
                skipped, len(pairs),
            )
