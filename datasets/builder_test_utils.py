"""Checks shared by the tests of the builders on `paired_png_builder` (not a test module).

Each builder test checks its dataset's stored examples against the dummy PNGs they were
built from, and the dummy data against what datasets/make_dummy_data.py writes; the
helpers here do that for any of them.
"""

import pathlib

import numpy as np
import tensorflow_datasets as tfds

from gta_keras.datasets import make_dummy_data
from gta_keras.datasets import make_validation_lists


def build(builder_class, manual_dir, data_dir, **kwargs):
    """Builds a dataset from `manual_dir` into `data_dir`.

    Args:
      builder_class: the TFDS builder class.
      manual_dir: the folder holding the downloaded (or dummy) files.
      data_dir: where TFDS writes the dataset.
      **kwargs: more arguments of the builder, such as `config`.

    Returns:
      The prepared builder.
    """
    builder = builder_class(data_dir=str(data_dir), **kwargs)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    )
    return builder


def check_empty_manual_dir_is_explained(builder_class, tmp_path, *expected):
    """Asserts that a build from an empty `manual_dir` fails with the download instructions.

    TFDS itself refuses an empty `manual_dir`, with an AssertionError that quotes the
    builder's MANUAL_DOWNLOAD_INSTRUCTIONS; this checks that those say what to get and where.

    Args:
      builder_class: the TFDS builder class.
      tmp_path: an empty folder to build in.
      *expected: texts the error message must contain, such as the homepage.
    """
    (tmp_path / "manual").mkdir()
    try:
        build(builder_class, tmp_path / "manual", tmp_path / "data")
    except AssertionError as error:
        message = str(error)
    else:
        raise AssertionError(f"{builder_class.name} built from an empty manual_dir")
    for text in expected:
        assert text in message, text


def check_pixels(examples, image_dir, label_dir, table, class_ids=lambda raw: raw.samples):
    """Asserts that each example is its PNG frame and the table applied to its raw label.

    The PNGs are decoded with make_dummy_data's own reader, not the builder's, so a decoding
    bug in the builder cannot hide itself.

    Args:
      examples: numpy examples with "image_id", "image" and "label".
      image_dir: the folder of the frames, named `<image_id>.png`.
      label_dir: the folder of the labels, named the same.
      table: the lookup table the builder should have applied.
      class_ids: raw label `make_dummy_data.Png` -> array of the ids the table maps.

    Returns:
      (raw_labels, seen_ids): the label PNGs read, in example order, for the caller to
      check their format; and the set of raw ids seen, to check that all were covered.
    """
    raw_labels, seen_ids = [], set()
    for example in examples:
        name = example["image_id"].decode() + ".png"
        raw = make_dummy_data.read_png((pathlib.Path(label_dir) / name).read_bytes())
        ids = class_ids(raw)
        raw_labels.append(raw)
        seen_ids.update(np.unique(ids).tolist())
        np.testing.assert_array_equal(example["label"][..., 0], table[ids])
        image = make_dummy_data.read_png((pathlib.Path(image_dir) / name).read_bytes())
        np.testing.assert_array_equal(example["image"], image.samples)
    return raw_labels, seen_ids


def check_validation_list(validation_list, dataset, size):
    """Asserts that a committed validation list is reproducible and names real frames.

    Args:
      validation_list: the committed list file.
      dataset: the dataset's TFDS name.
      size: how many frames the list must name.
    """
    text = validation_list.read_text()
    assert text == make_validation_lists.list_text(dataset)
    names = make_validation_lists.read_validation_list(text)
    assert len(names) == size
    assert names <= set(make_validation_lists.FRAME_NAMES[dataset])


def check_dummy_data_is_what_the_script_writes(dataset, dummy_data, tmp_path):
    """Asserts that `dummy_data` holds the PNGs make_dummy_data.py writes for `dataset`.

    Args:
      dataset: the dataset's TFDS name.
      dummy_data: the committed dummy_data/ folder.
      tmp_path: an empty folder to write into.
    """
    make_dummy_data.write_dataset(dataset, tmp_path)
    committed = sorted(p.relative_to(dummy_data) for p in dummy_data.rglob("*.png"))
    assert committed == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.png"))
    for relative in committed:
        old = make_dummy_data.read_png((dummy_data / relative).read_bytes())
        new = make_dummy_data.read_png((tmp_path / relative).read_bytes())
        np.testing.assert_array_equal(old.samples, new.samples)
        assert (old.bit_depth, old.color_type) == (new.bit_depth, new.color_type)
