"""Writes the builders' `dummy_data/` folders: tiny fake datasets in the real on-disk formats.

The builder tests read these instead of the real downloads. Each folder copies its
dataset's layout and PNG flavour, because reading the flavour right is the thing under test:

- synthia_rand_cityscapes: `RGB/*.png`, and `GT/LABELS/*.png` as 16-bit 3-channel PNGs
  with the class id in the first channel and an instance id above 255 in the second, so
  reading the wrong channel or decoding as 8-bit gives wrong ids. Every label uses every
  SYNTHIA class id 0..22. 3 training and 2 validation frames.
- gta5: `images/*.png`, and `labels/*.png` as palette PNGs whose indices are Cityscapes
  label ids 0..33 (every id in every label) and whose colours are unrelated to the ids.
  4 training frames, one of them with a label smaller than its image (the builder skips
  it), and 2 validation frames.
- camvid: the SegNet layout `train/ trainannot/ val/ valannot/ test/ testannot/` with 8-bit
  grayscale annotations using the 11 classes and void (11). 3 / 2 / 2 frames.

Validation frames are named after the first entries of the builders' committed validation
lists, so the split logic is exercised with the real lists.

PNGs are written by a small encoder here (no filtering, no interlacing), which keeps the
output independent of the decoders under test; `read_png` reads them back for the tests.

Usage (from the repository root):

    python datasets/make_dummy_data.py
"""

import dataclasses
import pathlib
import shutil
import struct
import zlib

import numpy as np

from gta_keras import label_maps
from gta_keras.datasets import make_validation_lists

# Frames are tiny to keep the tests fast; the label/image sizes differ only where a
# mismatch is wanted. One frame per dataset has another size, as real data may.
HEIGHT, WIDTH = 16, 32
OTHER_SIZE = (12, 24)
DATASETS_DIR = pathlib.Path(__file__).resolve().parent
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {"gray": 0, "rgb": 2, "palette": 3}


@dataclasses.dataclass(frozen=True)
class Png:
    """The content of a PNG file as this module writes it.

    Attributes:
      samples: [H, W] for gray and palette images, [H, W, 3] for RGB; uint8 or uint16.
      bit_depth: 8 or 16.
      color_type: "gray", "rgb" or "palette".
      palette: [N, 3] uint8 colours of a palette image, else None.
    """

    samples: np.ndarray
    bit_depth: int
    color_type: str
    palette: np.ndarray = None


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bytes(png):
    """Encodes a `Png` as PNG file bytes.

    Args:
      png: what to encode.

    Returns:
      The file content.
    """
    samples = np.asarray(png.samples)
    height, width = samples.shape[:2]
    sample_type = ">u2" if png.bit_depth == 16 else "u1"
    rows = samples.astype(sample_type).reshape(height, -1)
    # Filter type 0 (None) on every row keeps decoding trivial.
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(
        ">IIBBBBB", width, height, png.bit_depth, _COLOR_TYPES[png.color_type], 0, 0, 0
    )
    chunks = [_chunk(b"IHDR", header)]
    if png.palette is not None:
        chunks.append(_chunk(b"PLTE", np.asarray(png.palette, np.uint8).tobytes()))
    chunks += [_chunk(b"IDAT", zlib.compress(raw, 9)), _chunk(b"IEND", b"")]
    return _PNG_SIGNATURE + b"".join(chunks)


def read_png(data):
    """Decodes PNG bytes written by `png_bytes` (unfiltered, non-interlaced).

    Args:
      data: the file content.

    Returns:
      A `Png`.

    Raises:
      ValueError: if the data is not such a PNG.
    """
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("Not a PNG file.")
    pos, chunks = len(_PNG_SIGNATURE), {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks[kind] = chunks.get(kind, b"") + data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    width, height, bit_depth, color_type, _, _, interlace = struct.unpack(
        ">IIBBBBB", chunks[b"IHDR"]
    )
    color = {v: k for k, v in _COLOR_TYPES.items()}[color_type]
    channels = 3 if color == "rgb" else 1
    sample_type = np.dtype(">u2" if bit_depth == 16 else "u1")
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    if interlace or rows[:, 0].any():
        raise ValueError("Only unfiltered, non-interlaced PNGs are supported.")
    samples = rows[:, 1:].copy().view(sample_type).astype(sample_type.newbyteorder("="))
    samples = samples.reshape((height, width, channels) if channels == 3 else (height, width))
    palette = None
    if b"PLTE" in chunks:
        palette = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
    return Png(samples, bit_depth, color, palette)


def _write(path, png):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(png))


def _random_image(rng, size):
    return Png(rng.randint(0, 256, size + (3,)).astype(np.uint8), 8, "rgb")


def _every_id(rng, ids, size):
    """A label of `size` that contains every id in `ids`, in a shuffled layout."""
    count = size[0] * size[1]
    values = np.resize(np.asarray(sorted(ids)), count)
    return rng.permutation(values).reshape(size)


def _validation_list(dataset):
    path = DATASETS_DIR / dataset / make_validation_lists.LIST_FILE_NAME
    return make_validation_lists.read_validation_list(path.read_text())


def _frame_names(dataset, num_training, num_validation):
    """The first real frame names outside and inside the committed validation list."""
    validation = _validation_list(dataset)
    names = make_validation_lists.FRAME_NAMES[dataset]
    training = [name for name in names if name not in validation][:num_training]
    return training + sorted(validation)[:num_validation]


def write_synthia(out_dir, rng):
    """Writes the SYNTHIA-RAND-CITYSCAPES dummy data into `out_dir`."""
    dataset = "synthia_rand_cityscapes"
    names = _frame_names(dataset, num_training=3, num_validation=2)
    ids = label_maps.KNOWN_LABEL_IDS[dataset]
    for index, name in enumerate(names):
        size = OTHER_SIZE if index == 1 else (HEIGHT, WIDTH)
        class_ids = _every_id(rng, ids, size)
        instance_ids = rng.randint(256, 4096, size)
        third = rng.randint(0, 65536, size)
        label = np.stack([class_ids, instance_ids, third], axis=-1).astype(np.uint16)
        _write(out_dir / "RGB" / name, _random_image(rng, size))
        _write(out_dir / "GT" / "LABELS" / name, Png(label, 16, "rgb"))


def gta5_palette():
    """The dummy palette: 256 colours, none of whose channels or luminance equals its index."""
    index = np.arange(256)
    return np.stack([(index * 37 + 101) % 256, (index * 91 + 53) % 256, 255 - index], axis=-1)


def write_gta5(out_dir, rng):
    """Writes the GTA5 dummy data into `out_dir`; training frame 3 has a smaller label."""
    dataset = "gta5"
    names = _frame_names(dataset, num_training=4, num_validation=2)
    ids = label_maps.KNOWN_LABEL_IDS[dataset]
    for index, name in enumerate(names):
        image_size = OTHER_SIZE if index == 1 else (HEIGHT, WIDTH)
        label_size = (HEIGHT - 2, WIDTH) if index == 2 else image_size
        _write(out_dir / "images" / name, _random_image(rng, image_size))
        label = _every_id(rng, ids, label_size)
        _write(out_dir / "labels" / name, Png(label, 8, "palette", gta5_palette()))


CAMVID_FRAMES = {
    "train": ("0001TP_006690.png", "0006R0_f00930.png", "0016E5_00390.png"),
    "val": ("0016E5_07959.png", "0016E5_08019.png"),
    "test": ("0001TP_008550.png", "Seq05VD_f00000.png"),
}


def write_camvid(out_dir, rng):
    """Writes the CamVid (SegNet layout) dummy data into `out_dir`."""
    ids = label_maps.KNOWN_LABEL_IDS["camvid"]
    for split, names in CAMVID_FRAMES.items():
        for index, name in enumerate(names):
            size = OTHER_SIZE if (split, index) == ("train", 1) else (HEIGHT, WIDTH)
            _write(out_dir / split / name, _random_image(rng, size))
            _write(out_dir / f"{split}annot" / name, Png(_every_id(rng, ids, size), 8, "gray"))


WRITERS = {
    "synthia_rand_cityscapes": write_synthia,
    "gta5": write_gta5,
    "camvid": write_camvid,
}


def write_dataset(dataset, out_dir):
    """Writes one builder's dummy data into `out_dir`, replacing what is there.

    Args:
      dataset: a key of `WRITERS`.
      out_dir: the folder to fill (normally `datasets/<dataset>/dummy_data`).
    """
    out_dir = pathlib.Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    # RandomState, unlike default_rng, promises the same stream in every NumPy version.
    rng = np.random.RandomState(sorted(WRITERS).index(dataset))
    WRITERS[dataset](out_dir, rng)


def main():
    for dataset in sorted(WRITERS):
        out_dir = DATASETS_DIR / dataset / "dummy_data"
        write_dataset(dataset, out_dir)
        print(f"Wrote {out_dir}")


if __name__ == "__main__":
    main()
