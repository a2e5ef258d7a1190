"""GTA5 ("Playing for Data") as a TFDS dataset, labels mapped to Cityscapes trainIds."""

from etils import epath
import numpy as np

from gta_keras import label_maps
from gta_keras.datasets import make_validation_lists
from gta_keras.datasets import paired_png_builder

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

# How to get an intact copy of a file that does not decode, for the error message.
_REMEDY = "re-extract it from its archive"


def scan_manual_dir(manual_dir):
    """Finds the image/label pairs and assigns them to splits by the validation list.

    Args:
      manual_dir: the folder the user extracted the archives into.

    Returns:
      A `paired_png_builder.Scan`.

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
    return paired_png_builder.scan_with_validation_list(
        root, *folders, VALIDATION_LIST, "GTA5", MANUAL_DOWNLOAD_INSTRUCTIONS
    )


def read_image(path):
    """Reads an RGB frame; see `paired_png_builder.read_rgb`."""
    return paired_png_builder.read_rgb(path, _REMEDY, NAME)


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
    image = paired_png_builder.open_png(path, _REMEDY, NAME)
    if image.mode not in ("P", "L"):
        raise ValueError(
            f"{path} has PIL mode {image.mode}, not a palette PNG (mode P): its pixels are "
            "colours, not Cityscapes label ids. Re-extract the original label archive."
        )
    return np.asarray(image)


class Builder(paired_png_builder.PairedPngBuilder):
    """GTA5: 24,966 game frames with Cityscapes-compatible labels (Richter et al., 2016).

    Labels are Cityscapes trainIds (0..18, 255 void). Pairs whose image and label sizes
    differ (about 25 in the real data) are skipped and counted in the build log.
    """

    DISPLAY_NAME = "GTA5"
    HOMEPAGE = HOMEPAGE
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    scan_manual_dir = staticmethod(scan_manual_dir)
    read_image = staticmethod(read_image)
    read_raw_label = staticmethod(read_raw_label)

    def lookup_table(self):
        return label_maps.gta5_lookup()
