"""`python -m gta_keras.predict` on a smoke-sized export and checkpoint.

Starting TensorFlow takes seconds, so one run of the real command on the export covers most
checks (a folder, a file, a glob, two broken files) and one more runs the checkpoint; those
are marked slow. The rest runs in-process.
"""

import os

import gin
import keras
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import export
from gta_keras import predict
from gta_keras import protocols
from gta_keras.models import factory
from tests import cli

NUM_CLASSES = 19
SERVING_SIZE = (32, 64)  # gin/smoke.gin's evaluation size: the checkpoint predicts at it too
DEMO_SIZE = (64, 128)


def _run_predict(*args):
    return cli.run_module("gta_keras.predict", *args, timeout=300)


def _save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _read(path):
    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A smoke model with random score layers, exported and checkpointed; no training."""
    workdir = tmp_path_factory.mktemp("run")
    configurables.parse_gin([os.path.join(cli.ROOT, "gin", "smoke.gin")])
    try:
        keras.utils.set_random_seed(0)
        model = experiment.compile_model(factory.build_model())
        # Freshly built, every pixel scores the same class; random score layers (on a seeded
        # F: some initialisations still give one class) tell a right answer from a constant.
        rng = np.random.default_rng(0)
        for variable in model.classifier.trainable_variables:
            variable.assign(rng.normal(0, 1, variable.shape).astype("float32"))
        saved_model = export.export_segmenter(model.embedder, model.classifier,
                                              str(workdir / "export"), 1, SERVING_SIZE)
        checkpoints.Checkpointer(model, checkpoints.checkpoint_directory(str(workdir))).save()
    finally:
        gin.clear_config()
    serve = tf.saved_model.load(saved_model).signatures["serving_default"]
    return workdir, saved_model, serve


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Images of several sizes and modes, laid out to need every naming rule."""
    root = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(1)

    def rgb(size):
        return rng.integers(0, 256, size + (3,), dtype=np.uint8)

    _save(root / "photos" / "a.png", rgb(DEMO_SIZE))
    _save(root / "photos" / "rgba.png",
          np.concatenate([rgb(DEMO_SIZE), np.full(DEMO_SIZE + (1,), 7, np.uint8)], -1))
    _save(root / "photos" / "sub" / "b.jpg", rgb((50, 70)))
    gray16 = rng.integers(0, 65536, (40, 72), dtype=np.uint16)
    tf.io.write_file(str(root / "photos" / "gray16.png"), tf.io.encode_png(gray16[..., None]))
    (root / "photos" / "sub" / "notes.png").write_text("not an image")
    (root / "photos" / "readme.txt").write_text("ignored: not an image extension")
    _save(root / "extra" / "c.png", rgb(DEMO_SIZE))
    with open(root / "extra" / "c.png", "rb") as f:
        png = f.read()
    (root / "extra" / "broken.png").write_bytes(png[:len(png) // 2])
    _save(root / "globbed" / "x" / "d.png", rgb((48, 96)))
    _save(root / "globbed" / "y" / "d.png", rgb((48, 96)))
    return root, gray16


@pytest.fixture(scope="module")
def saved_model_run(run, inputs, tmp_path_factory):
    _, saved_model, _ = run
    root, _ = inputs
    output_dir = tmp_path_factory.mktemp("out")
    result = _run_predict(f"--saved_model={saved_model}", f"--output_dir={output_dir}",
                          "--batch_size=2", root / "photos", root / "extra" / "c.png",
                          root / "extra" / "broken.png", root / "globbed" / "*" / "d.png")
    return result, output_dir


# Input path (relative to the inputs folder) -> output name (relative to --output_dir).
EXPECTED = {
    "photos/a.png": "a",
    "photos/rgba.png": "rgba",
    "photos/gray16.png": "gray16",
    "photos/sub/b.jpg": "sub/b",
    "extra/c.png": "c",
    "globbed/x/d.png": "x/d",
    "globbed/y/d.png": "y/d",
}


@pytest.mark.slow
def test_broken_inputs_are_named_and_skipped_and_exit_1(saved_model_run):
    result, output_dir = saved_model_run
    assert result.returncode == 1, result.stderr[-3000:]
    assert "notes.png" in result.stderr and "broken.png" in result.stderr
    assert "2 input(s) failed" in result.stderr
    assert "absl::InitializeLog" not in result.stderr  # A quiet start (gta_keras.quiet).
    assert f"Wrote 7 of 9 images to {output_dir}" in result.stdout
    written = sorted(os.path.relpath(os.path.join(folder, name), output_dir)
                     for folder, _, names in os.walk(output_dir) for name in names)
    assert written == sorted(name + suffix for name in EXPECTED.values()
                             for suffix in predict.OUTPUT_SUFFIXES)


@pytest.mark.slow
@pytest.mark.parametrize("input_path", sorted(EXPECTED))
def test_outputs_match_the_signature_and_the_palette(run, inputs, saved_model_run,
                                                     input_path):
    _, _, serve = run
    root, _ = inputs
    _, output_dir = saved_model_run
    image = predict.read_image(str(root / input_path))
    base = os.path.join(output_dir, EXPECTED[input_path])
    classes = _read(base + "_classes.png")
    colors = _read(base + "_color.png")
    overlay = _read(base + "_overlay.png")
    assert classes.dtype == np.uint8 and classes.shape == image.shape[:2]
    assert classes.max() < NUM_CLASSES
    expected = serve(images=tf.constant(image[None]))["classes"][0].numpy()
    np.testing.assert_array_equal(classes, expected)
    np.testing.assert_array_equal(colors, protocols.CITYSCAPES_PALETTE[classes])
    assert overlay.shape == image.shape
    np.testing.assert_array_equal(
        overlay, np.round(0.5 * image + 0.5 * colors.astype(np.float64)).astype(np.uint8))


@pytest.mark.slow
def test_the_random_model_predicts_several_classes(saved_model_run):
    _, output_dir = saved_model_run
    classes = [_read(os.path.join(output_dir, name + "_classes.png")).ravel()
               for name in EXPECTED.values()]
    assert len(np.unique(np.concatenate(classes))) > 1


@pytest.mark.slow
def test_checkpoint_predicts_as_its_export(run, inputs, saved_model_run, tmp_path):
    workdir, _, _ = run
    root, _ = inputs
    _, exported_dir = saved_model_run
    result = _run_predict(f"--workdir={workdir}", "--gin_file=gin/smoke.gin",
                          f"--output_dir={tmp_path}", root / "photos" / "a.png",
                          root / "photos" / "sub" / "b.jpg")
    cli.assert_ok(result)
    assert "checkpoint of step 0, F and C's training weights" in result.stdout
    assert f"Wrote 2 of 2 images to {tmp_path}" in result.stdout
    # Named as files here; found in the photos folder by the export's run.
    for name, exported_name in (("a", "a"), ("b", "sub/b")):
        np.testing.assert_array_equal(
            _read(tmp_path / f"{name}_classes.png"),
            _read(os.path.join(exported_dir, f"{exported_name}_classes.png")))


def test_no_input_found_is_a_clear_error_and_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    # In-process (the same `main` as the command's): inputs are checked before any model
    # loads, so no export is needed and no TensorFlow start-up is paid again.
    predict.FLAGS.unparse_flags()  # Flags are per process: start from none set.
    argv = predict.FLAGS(["predict", f"--saved_model={tmp_path / 'export' / '1'}",
                          f"--output_dir={tmp_path / 'out'}", str(tmp_path / "empty"),
                          str(tmp_path / "missing.png")])
    try:
        with pytest.raises(SystemExit) as exit_info:
            predict.main(argv)
    finally:
        predict.FLAGS.unparse_flags()
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert "No image found" in stderr and "missing.png" in stderr
    assert not os.path.exists(tmp_path / "out")


def test_other_modes_become_rgb_uint8(inputs):
    root, gray16 = inputs
    gray = predict.read_image(str(root / "photos" / "gray16.png"))
    assert gray.dtype == np.uint8 and gray.shape == (40, 72, 3)
    np.testing.assert_array_equal(gray[..., 0], np.round(gray16 / 257).astype(np.uint8))
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    rgba = predict.read_image(str(root / "photos" / "rgba.png"))
    assert rgba.shape == DEMO_SIZE + (3,)


def test_unreadable_files_raise_naming_the_file(inputs):
    root, _ = inputs
    for name in ("photos/sub/notes.png", "extra/broken.png", "extra/missing.png"):
        with pytest.raises(predict.ImageReadError, match=os.path.basename(name)):
            predict.read_image(str(root / name))


def test_same_names_from_two_places_stop_before_any_work(inputs):
    root, _ = inputs
    with pytest.raises(predict.PredictError, match="would both write d_"):
        predict.find_inputs([str(root / "globbed" / "x" / "d.png"),
                             str(root / "globbed" / "y" / "d.png")])
    # The same file twice is one input, not a collision.
    found, missing = predict.find_inputs([str(root / "extra" / "c.png"),
                                          str(root / "extra" / "*.png")])
    assert [name for _, name in found] == ["c", "broken"] and not missing


def test_batches_hold_one_size_each(inputs):
    root, _ = inputs
    found, _ = predict.find_inputs([str(root / "photos")])
    errors = []
    batches = list(predict.image_batches(found, 2, lambda path, message: errors.append(path)))
    assert all(len({image.shape for image in images}) == 1 for _, images in batches)
    assert all(len(items) <= 2 for items, _ in batches)
    assert sum(len(items) for items, _ in batches) == len(found) - 1
    assert [os.path.basename(path) for path in errors] == ["notes.png"]


def test_an_export_base_folder_names_the_version_to_give(run):
    _, saved_model, _ = run
    with pytest.raises(predict.PredictError, match=r"holds export versions \[1\]"):
        with predict.load_predictor(saved_model=os.path.dirname(saved_model)):
            pass
    with pytest.raises(predict.PredictError, match="exactly one of"):
        with predict.load_predictor():
            pass


def test_a_workdir_without_gin_files_needs_its_operative_config(tmp_path):
    with pytest.raises(predict.PredictError, match="operative_config.gin does not exist"):
        predict.parse_run_config(str(tmp_path))
    with pytest.raises(predict.PredictError, match="does not exist; give a run's folder"):
        predict.parse_run_config(str(tmp_path / "missing"))
