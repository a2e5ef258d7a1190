"""SYNTHIA-RAND-CITYSCAPES as a TFDS dataset, labels mapped to Cityscapes trainIds."""

import dataclasses
import struct

from etils import epath
import tensorflow as tf
import tensorflow_datasets as tfds

from gta_keras import label_maps
from gta_keras.datasets import make_validation_lists
from gta_keras.datasets import paired_png_builder

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

# How to get an intact copy of a file that does not decode, for the error message.
_REMEDY = "re-extract it from the archive"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclasses.dataclass
class SynthiaConfig(tfds.core.BuilderConfig):
    """A label mapping variant.

    Attributes:
      map_lane_and_parking_to_road: map lane marking (22) and parking slot (13) to road
        instead of void.
    """

    map_lane_and_parking_to_road: bool = False


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
      A `paired_png_builder.Scan`.

    Raises:
      FileNotFoundError: if a folder is missing or holds no pairs; the message says what
        is expected and where to get it.
    """
    root = _find_root(manual_dir)
    return paired_png_builder.scan_with_validation_list(
        root, root / IMAGES_DIR, root / LABELS_DIR, VALIDATION_LIST, "SYNTHIA",
        MANUAL_DOWNLOAD_INSTRUCTIONS,
    )


def _decode_error(path, reason):
    return paired_png_builder.decode_error(path, reason, _REMEDY, NAME)


def read_image(path):
    """Reads an RGB frame; see `paired_png_builder.read_rgb`."""
    return paired_png_builder.read_rgb(path, _REMEDY, NAME)


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


class Builder(paired_png_builder.PairedPngBuilder):
    """SYNTHIA-RAND-CITYSCAPES: 9,400 synthetic frames (Ros et al., 2016).

    Labels are Cityscapes trainIds (0..18, 255 void); the paper evaluates SYNTHIA on the 16
    classes without terrain, truck and train. Pairs whose image and label sizes differ are
    skipped and counted in the build log.
    """

    DISPLAY_NAME = "SYNTHIA"
    HOMEPAGE = HOMEPAGE
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
    scan_manual_dir = staticmethod(scan_manual_dir)
    read_image = staticmethod(read_image)
    read_raw_label = staticmethod(read_raw_label)

    def lookup_table(self):
        return label_maps.synthia_lookup(
            map_lane_and_parking_to_road=self.builder_config.map_lane_and_parking_to_road
        )
