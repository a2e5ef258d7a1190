"""Segments your own images with a trained or exported segmenter.

  python -m gta_keras.predict --saved_model=runs/demo/export/1500 --output_dir=out photos/
  python -m gta_keras.predict --workdir=runs/demo --output_dir=out 'photos/**/*.jpg'

The model is either an export (`--saved_model=<workdir>/export/<version>`) or a run's newest
checkpoint (`--workdir`, with the run's gin files; by default its operative_config.gin).

Inputs are image files, glob patterns or folders (searched recursively for .png, .jpg and
.jpeg), of any size. Grayscale, palette, RGBA (alpha dropped), CMYK and 16-bit PNG inputs are
converted to 8-bit RGB first; JPEG EXIF orientation is applied. For each input `<name>.<ext>`
three PNGs, at the input's size, go to --output_dir:

  <name>_classes.png  class ids (Cityscapes trainIds 0..18, uint8; every pixel gets a class)
  <name>_color.png    the classes in the Cityscapes palette
  <name>_overlay.png  the colours blended half-transparent over the input

A file named directly keeps its base name; files found in a folder or by a glob keep their
sub-folders relative to that folder (or to the glob's fixed leading folder). Two inputs that
would write the same names stop the run before any work.

An input that cannot be read is named on stderr and skipped; the rest are still written.
Exit codes: 0 all written; 1 some inputs failed; 2 nothing run (bad flags, no input found,
name collision, no model).
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import contextlib
import glob
import json
import os
import sys

from absl import app
from absl import flags
import keras
import numpy as np
from PIL import Image
from PIL import ImageOps
import tensorflow as tf

from gta_keras import averaging
from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import export
from gta_keras import figures
from gta_keras import run_flags  # pylint: disable=unused-import  (--workdir, --gin_file)
from gta_keras import runs
from gta_keras.data import pipeline

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
OUTPUT_SUFFIXES = ("_classes.png", "_color.png", "_overlay.png")
OVERLAY_ALPHA = 0.5
EXIT_SOME_FAILED = 1
EXIT_NOTHING_RUN = 2

FLAGS = flags.FLAGS
flags.DEFINE_string("saved_model", None,
                    "An exported segmenter, <workdir>/export/<version>. Give this or "
                    "--workdir.")
# --workdir (give it or --saved_model), --gin_file and --gin_bindings: `run_flags`.
flags.DEFINE_string("output_dir", None, "Where the PNGs go (created if missing). Required.")
flags.DEFINE_integer("batch_size", 8,
                     "Images per forward pass; only images of the same size share one. "
                     "Lower it if large images run out of memory.")


class PredictError(Exception):
    """Nothing can be run: the message says what is wrong and what to do."""


class ImageReadError(Exception):
    """One input could not be read as an image."""


# ---------------------------------------------------------------------------------------
# The predictor: uint8 images -> class ids, from an export or from a run's checkpoint.


@contextlib.contextmanager
def load_predictor(saved_model=None, workdir=None):
    """A context holding a class predictor for an export or for a run's newest checkpoint.

    With `workdir`, the run's gin config must already be parsed (see `parse_run_config`).
    A checkpoint predicts with the weights `--mode=evaluate` and `--mode=export` score:
    the moving average of F and C when the run keeps one, unless `evaluate.weights`
    says "raw". It is in F and C inside the context only.

    Args:
      saved_model: a SavedModel folder, `<workdir>/export/<version>`.
      workdir: a run's folder.

    Yields:
      A function uint8 [B, H, W, 3] RGB (numpy) -> int32 class ids [B, H, W] (numpy), at
      the input's size.

    Raises:
      PredictError: neither or both sources given, or no model where one is named.
    """
    _check_one_source(saved_model, workdir)
    if saved_model:
        yield _saved_model_predictor(saved_model)
        return
    with _checkpoint_predictor(workdir) as classes_fn:
        yield classes_fn


def _check_one_source(saved_model, workdir):
    if bool(saved_model) == bool(workdir):
        raise PredictError("Give exactly one of --saved_model=<workdir>/export/<version> "
                           "and --workdir=<workdir>.")


def _saved_model_predictor(path):
    if not tf.saved_model.contains_saved_model(path):
        raise PredictError(f"--saved_model={path} is not a SavedModel folder"
                           f"{_suggest_version(path)}.")
    loaded = tf.saved_model.load(path)
    if export.SIGNATURE_KEY not in loaded.signatures:
        raise PredictError(f"{path} has no {export.SIGNATURE_KEY!r} signature; export it "
                           "with `python -m gta_keras.main --mode=export`.")
    print(f"Predicting with the export {path}{_export_weights_text(path)}.", flush=True)

    def classes_fn(images):
        # Naming `loaded` here keeps it alive: the signature only points at its variables.
        serve = loaded.signatures[export.SIGNATURE_KEY]
        return serve(images=tf.constant(images, tf.uint8))["classes"].numpy()

    return classes_fn


def _export_weights_text(path):
    """", step N, <which weights>" from an export's record; "" for an export without one."""
    record_path = os.path.join(path, export.RECORD_PATH)
    if not os.path.exists(record_path):
        return ""
    with open(record_path) as f:
        record = json.load(f)
    return f", step {record['step']}, {averaging.describe(record['weights'])}"


@contextlib.contextmanager
def _checkpoint_predictor(workdir):
    try:
        model, checkpointer = experiment.restore(workdir)
        weights = experiment.scored_weights(model)
    except (checkpoints.CheckpointNotFoundError, checkpoints.CheckpointMismatchError,
            pipeline.ConfigurationError) as error:
        raise PredictError(str(error)) from error

    # One graph for every size: without the None signature each new size would retrace.
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    def classes(images):
        return model.predict_classes(tf.cast(images, tf.float32), tf.shape(images)[1:3])

    print(f"Predicting with {workdir}'s checkpoint of step {checkpointer.step}, "
          f"{averaging.describe(weights)}.", flush=True)
    with averaging.weights_in(model, weights):
        yield lambda images: classes(tf.constant(images, tf.uint8)).numpy()


def _suggest_version(path):
    """The end of the error message: what `path` is, and which version to give instead."""
    if not os.path.isdir(path):
        return " (it does not exist)"
    versions = [int(name) for name in os.listdir(path) if name.isdigit() and
                tf.saved_model.contains_saved_model(os.path.join(path, name))]
    if not versions:
        return "; give <workdir>/export/<version>, the folder holding saved_model.pb"
    return (f" but holds export versions {sorted(versions)}; give one, e.g. "
            f"--saved_model={os.path.join(path, str(max(versions)))}")


def parse_run_config(workdir, gin_files=(), gin_bindings=()):
    """Parses the run's gin config: `gin_files`, or else the run's operative_config.gin.

    Raises:
      PredictError: no such run folder, or no gin file given and the run has no
        operative_config.gin.
    """
    if not os.path.isdir(workdir):
        raise PredictError(f"--workdir={workdir} does not exist; give a run's folder, the "
                           "--workdir it was trained with.")
    if not gin_files:
        operative = os.path.join(workdir, runs.OPERATIVE_CONFIG)
        if not os.path.exists(operative):
            raise PredictError(f"{operative} does not exist; give the run's config with "
                               "--gin_file, e.g. --gin_file=gin/demo.gin.")
        gin_files = [operative]
    configurables.parse_gin(gin_files, gin_bindings)


# ---------------------------------------------------------------------------------------
# Inputs: files, globs and folders -> (path, output name) pairs.


def find_inputs(args):
    """Expands files, globs and folders into the images to segment.

    Args:
      args: paths, glob patterns (`**` recurses) or folders (searched recursively for
        .png, .jpg and .jpeg).

    Returns:
      (inputs, missing): inputs a list of (path, name) with name the output path relative
      to --output_dir without suffix, e.g. "sub/photo"; missing the arguments that matched
      nothing.

    Raises:
      PredictError: two inputs would write the same output names.
    """
    inputs, missing, owner_of = [], [], {}  # owner_of: output name -> input path
    for arg in args:
        found = _expand(arg)
        if not found:
            missing.append(arg)
        for path, name in found:
            previous = owner_of.get(name)
            if previous is None:
                owner_of[name] = path
                inputs.append((path, name))
                continue
            if previous == path:  # The same file matched twice: segment it once.
                continue
            raise PredictError(
                f"{previous} and {path} would both write {name}_*.png. Rename one, or pass "
                "their common parent folder so that sub-folders keep them apart.")
    return inputs, missing


def _expand(arg):
    """[(path, name)] for one argument; [] when it matches nothing."""
    if os.path.isdir(arg):
        paths = [os.path.join(folder, file_name)
                 for folder, _, file_names in os.walk(arg) for file_name in file_names
                 if file_name.lower().endswith(IMAGE_EXTENSIONS)]
        root = arg
    elif os.path.isfile(arg):  # Before globs: "photo[1].png" is a file name too.
        paths, root = [arg], os.path.dirname(arg)
    elif glob.has_magic(arg):
        paths = [path for path in glob.glob(arg, recursive=True) if os.path.isfile(path)]
        root = _fixed_prefix(arg)
    else:
        return []
    return [(os.path.normpath(path), _output_name(path, root)) for path in sorted(paths)]


def _fixed_prefix(pattern):
    """The leading folders of a glob pattern before its first wildcard."""
    parts = pattern.split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    # An absolute pattern's first part is "": keep the root, not the current folder.
    return os.sep.join(fixed) or (os.sep if pattern.startswith(os.sep) else "")


def _output_name(path, root):
    name = os.path.splitext(os.path.relpath(path, root or "."))[0]
    return os.path.normpath(name)


# ---------------------------------------------------------------------------------------
# Reading, batching and writing.


def read_image(path):
    """Reads an image as RGB uint8 [H, W, 3], whatever its mode and bit depth.

    Raises:
      ImageReadError: the file is missing, not an image, or truncated.
    """
    try:
        with Image.open(path) as image:
            image.load()  # Decodes now, so that a truncated file fails here.
            image = ImageOps.exif_transpose(image)
            return _to_rgb_uint8(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageReadError(f"{path}: not a readable image ({error})") from error


def _to_rgb_uint8(image):
    if image.mode.startswith("I"):
        # 16-bit grayscale: Pillow's convert("RGB") would clip at 255 instead of scaling.
        values = np.clip(np.asarray(image, np.float64) / 257.0, 0, 255)
        gray = np.round(values).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    return np.asarray(image.convert("RGB"), np.uint8)


def image_batches(inputs, batch_size, on_error):
    """Reads inputs and groups them into batches of images of the same size.

    Images wait in one bucket per size, so memory holds at most batch_size images per
    distinct size; a bucket goes out as soon as it is full, the rest at the end.

    Args:
      inputs: (path, name) pairs.
      batch_size: images per batch.
      on_error: called with (path, message) for each input that cannot be read.

    Yields:
      (list of (path, name), uint8 array [B, H, W, 3]).
    """
    buckets = {}
    for path, name in inputs:
        try:
            image = read_image(path)
        except ImageReadError as error:
            on_error(path, str(error))
            continue
        bucket = buckets.setdefault(image.shape, [])
        bucket.append(((path, name), image))
        if len(bucket) == batch_size:
            yield _stack(buckets.pop(image.shape))
    for bucket in buckets.values():
        yield _stack(bucket)


def _stack(bucket):
    return [item for item, _ in bucket], np.stack([image for _, image in bucket])


def overlay(image, colors, alpha=OVERLAY_ALPHA):
    """Blends `colors` over `image` (both uint8 [H, W, 3]) with opacity `alpha`."""
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colors.astype(np.float32)
    return np.round(blended).astype(np.uint8)


def write_outputs(output_dir, name, image, classes):
    """Writes `<name>_classes.png`, `<name>_color.png` and `<name>_overlay.png`.

    Args:
      output_dir: the output folder.
      name: the output name relative to it, without suffix.
      image: the input, uint8 [H, W, 3].
      classes: class ids int [H, W].
    """
    base = os.path.join(output_dir, name)
    os.makedirs(os.path.dirname(base) or ".", exist_ok=True)
    colors = figures.colorize(classes)
    classes_path, color_path, overlay_path = (base + suffix for suffix in OUTPUT_SUFFIXES)
    Image.fromarray(classes.astype(np.uint8)).save(classes_path)
    Image.fromarray(colors).save(color_path)
    Image.fromarray(overlay(image, colors)).save(overlay_path)


def predict_all(classes_fn, inputs, output_dir, batch_size=8, on_error=None):
    """Segments every input and writes its three PNGs, with a progress bar.

    Args:
      classes_fn: uint8 [B, H, W, 3] -> class ids [B, H, W] (see `load_predictor`).
      inputs: (path, name) pairs from `find_inputs`.
      output_dir: the output folder.
      batch_size: images per forward pass.
      on_error: called with (path, message) for each failed input; default prints it to
        stderr.

    Returns:
      (number written, list of failed paths).
    """
    failed = []

    def fail(path, message):
        failed.append(path)
        (on_error or _print_error)(path, message)

    progress = keras.utils.Progbar(len(inputs), unit_name="image")
    written = 0
    for items, images in image_batches(inputs, batch_size, fail):
        try:
            classes = classes_fn(images)
        except (tf.errors.OpError, ValueError) as error:
            for path, _ in items:
                fail(path, f"{path}: could not be segmented ({_first_line(error)})")
        else:
            for (_, name), image, image_classes in zip(items, images, classes):
                write_outputs(output_dir, name, image, image_classes)
                written += 1
        progress.update(written + len(failed))  # Finishes the bar once every input is done.
    return written, failed


def _print_error(path, message):
    del path  # The message names it.
    print(f"gta_keras.predict: skipped {message}", file=sys.stderr, flush=True)


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# ---------------------------------------------------------------------------------------
# Command line.


def main(argv):
    try:
        sys.exit(_run(argv[1:]))
    except PredictError as error:
        print(f"gta_keras.predict: {error}", file=sys.stderr)
        sys.exit(EXIT_NOTHING_RUN)


def _check_flags(args):
    """Raises PredictError for a command that cannot run, before any slow work."""
    # Checked here, not by absl, so that every "nothing ran" error exits with 2.
    if not FLAGS.output_dir:
        raise PredictError("Give --output_dir, the folder the PNGs go to.")
    if FLAGS.batch_size < 1:
        raise PredictError(f"--batch_size={FLAGS.batch_size} must be at least 1.")
    _check_one_source(FLAGS.saved_model, FLAGS.workdir)
    if FLAGS.saved_model and (FLAGS.gin_file or FLAGS.gin_bindings):
        raise PredictError("--gin_file and --gin_bindings go with --workdir; an export "
                           "carries its own model.")
    if not args:
        raise PredictError("Name the images to segment: files, globs or folders, e.g. "
                           "`python -m gta_keras.predict --saved_model=... "
                           "--output_dir=out photos/`.")


def _run(args):
    """Runs the command on its positional `args`; returns the exit code."""
    _check_flags(args)
    inputs, missing = find_inputs(args)
    for arg in missing:
        print(f"gta_keras.predict: skipped {arg}: no such file, or no image matched",
              file=sys.stderr)
    if not inputs:
        raise PredictError(f"No image found in {' '.join(args)}; give PNG or JPEG files, "
                           "globs or folders holding them.")
    if FLAGS.workdir:
        parse_run_config(FLAGS.workdir, FLAGS.gin_file, FLAGS.gin_bindings)
    with load_predictor(FLAGS.saved_model, FLAGS.workdir) as classes_fn:
        written, failed = predict_all(classes_fn, inputs, FLAGS.output_dir,
                                      FLAGS.batch_size)
    print(f"Wrote {written} of {len(inputs)} images to {os.path.join(FLAGS.output_dir, '')} "
          f"(<name>{', <name>'.join(OUTPUT_SUFFIXES)}).")
    num_failed = len(failed) + len(missing)
    if num_failed:
        print(f"gta_keras.predict: {num_failed} input(s) failed, named above.",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0


if __name__ == "__main__":
    app.run(main)
