"""Writes tiny Cityscapes manual downloads for tests, in the real archive layout.

TFDS's own `cityscapes` builder (config `semantic_segmentation`) reads two archives from
`manual_dir`, as the Cityscapes download page ships them:

    leftImg8bit_trainvaltest.zip
        README, license.txt
        leftImg8bit/{train,val,test}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    gtFine_trainvaltest.zip
        README, license.txt
        gtFine/{train,val,test}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png
                                      ... _gtFine_instanceIds.png, _gtFine_color.png,
                                      ... _gtFine_polygons.json

The builder reads only the `_leftImg8bit.png` frames and the `_gtFine_labelIds.png`
labels (8-bit grayscale, Cityscapes label ids 0..33); the sibling files are written too so
that it has to pick the right one. Every train and val label uses every label id 0..33,
so the id -> trainId mapping is exercised in full. As in the real data, the test split's
labels carry no classes (only "unlabeled", "ego vehicle" and "out of roi").

Nothing binary is committed: tests call `write_manual_zips(tmp_path)`.

Frames are 1024x2048, the real size, and must be: the TFDS feature declares
`Image(shape=(1024, 2048, 3))`, stores the file bytes unchanged, and tf.data checks that
shape when reading, so smaller frames build but fail on the first read ("Incompatible
shapes at component 0: expected [1024,2048,3] but got [32,64,3]"). The content is flat
bands, which PNG compresses to a few kB per file.
"""

import io
import json
import pathlib
import zipfile

import numpy as np
from PIL import Image

IMAGES_ZIP = "leftImg8bit_trainvaltest.zip"
LABELS_ZIP = "gtFine_trainvaltest.zip"
IMAGES_ROOT = "leftImg8bit"
LABELS_ROOT = "gtFine"
# Split folder -> ((city, sequence, frame), ...), with real city names of each split.
FRAMES = {
    "train": (("aachen", 0, 19), ("aachen", 1, 19), ("bochum", 0, 313)),
    "val": (("frankfurt", 0, 294), ("lindau", 0, 19)),
    "test": (("berlin", 0, 19), ("bielefeld", 0, 321)),
}
NUM_LABEL_IDS = 34  # label ids 0..33; the licence plate (-1) never occurs in labelIds files.
_TEST_SPLIT_IDS = (0, 1, 3)  # unlabeled, ego vehicle, out of roi
_README = b"Tiny fake Cityscapes archive written by tests/cityscapes_dummy.py.\n"


def image_id(city, sequence, frame):
    """The Cityscapes id of a frame, e.g. "aachen_000000_000019"."""
    return f"{city}_{sequence:06d}_{frame:06d}"


def label_ids(index, height, width, split="train"):
    """The label ids of frame `index`: vertical bands of every id 0..33, shifted by index.

    Args:
      index: the frame's index (varies the pattern between frames).
      height: rows.
      width: columns; at least 34 so that every id occurs.
      split: "test" gives only the ids of real test labels (no classes).

    Returns:
      A uint8 array [height, width] of Cityscapes label ids.
    """
    ids = np.arange(NUM_LABEL_IDS) if split != "test" else np.array(_TEST_SPLIT_IDS)
    if width < len(ids):
        raise ValueError(f"Frames need at least {len(ids)} columns to hold every id.")
    columns = ids[(np.arange(width) * len(ids) // width + index) % len(ids)]
    rows = np.broadcast_to(columns, (height, width)).copy()
    # A few pixels of another id in each band, so that labels are not pure column stripes.
    rows[::7, ::5] = ids[(index + 1) % len(ids)]
    return rows.astype(np.uint8)


def image_pixels(index, height, width):
    """An RGB frame whose colour follows its labels, plus a vertical gradient."""
    labels = label_ids(index, height, width).astype(np.int32)
    base = np.stack([labels * 7 % 224, labels * 53 % 224, labels * 101 % 224], axis=-1)
    gradient = (np.arange(height) * 32 // height)[:, None, None]
    return (base + gradient).astype(np.uint8)


def _png(array):
    # uint8 [H, W] -> 8-bit grayscale, uint16 [H, W] -> 16-bit grayscale, [H, W, 3] -> RGB.
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _color(ids):
    palette = np.random.default_rng(0).integers(0, 256, size=(256, 3), dtype=np.uint8)
    return palette[ids]


def _instance_ids(ids):
    # Instance ids of "thing" classes are label_id * 1000 + instance; stuff keeps its id.
    instances = ids.astype(np.uint16)
    things = ids >= 24
    instances[things] = ids[things].astype(np.uint16) * 1000
    return instances


def write_manual_zips(folder, height=1024, width=2048):
    """Writes the two `semantic_segmentation` archives into `folder`.

    Args:
      folder: the manual_dir (created if missing).
      height: frame height.
      width: frame width (at least 34).

    Returns:
      dict split folder ("train", "val", "test") -> list of (image id, label ids array).
    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    with zipfile.ZipFile(folder / IMAGES_ZIP, "w") as images_zip, \
            zipfile.ZipFile(folder / LABELS_ZIP, "w") as labels_zip:
        for archive in (images_zip, labels_zip):
            archive.writestr("README", _README)
            archive.writestr("license.txt", _README)
        index = 0
        for split, frames in FRAMES.items():
            written[split] = []
            for city, sequence, frame in frames:
                frame_id = image_id(city, sequence, frame)
                ids = label_ids(index, height, width, split)
                images_zip.writestr(
                    f"{IMAGES_ROOT}/{split}/{city}/{frame_id}_leftImg8bit.png",
                    _png(image_pixels(index, height, width)))
                prefix = f"{LABELS_ROOT}/{split}/{city}/{frame_id}_gtFine"
                labels_zip.writestr(f"{prefix}_labelIds.png", _png(ids))
                labels_zip.writestr(f"{prefix}_instanceIds.png",
                                    _png(_instance_ids(ids)))
                labels_zip.writestr(f"{prefix}_color.png", _png(_color(ids)))
                labels_zip.writestr(f"{prefix}_polygons.json", json.dumps(
                    {"imgHeight": height, "imgWidth": width, "objects": []}))
                written[split].append((frame_id, ids))
                index += 1
    return written
