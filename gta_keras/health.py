"""Training health: what TensorBoard shows of a run besides the four loss sums.

Every `training_health.every_steps` steps (by default at every checkpoint, i.e. every
`train.steps_per_epoch` steps; 0 turns it off) `TrainingHealth` writes into
`<workdir>/logs/health`:

  loss_terms/<player>/<term>    the mean of each loss term over the steps since the last
                                write (`adaptation_model.loss_term_names`), before its
                                written coefficient (alpha, beta, w_rec, 0.1);
  confusion/<row>_as_<column>   D's domain confusion on a fixed batch: the share of D's
                                decisions (its domain head's argmax at each location) on
                                the row's inputs that name the column. Image D (lsd,
                                global_d, no_aux): rows src_real, src_fake, tgt_real,
                                tgt_fake, x_s, G(F(x_s)), x_t, G(F(x_t)); feature_d's D on
                                fc7: rows source, target. Each row sums to 1;
  confusion/matrix              the same as an image;
  images/source, images/target  the fixed batch: input | prediction | ground truth |
                                G's reconstruction, labels in the Cityscapes palette
                                (no reconstruction for methods without G);

and at every checkpoint (the end of each epoch)

  checkpoint/source_validation_miou   mIoU on the first `validation_images` (100) frames
                                      of the labelled domain's validation split (the
                                      source's; the target's for target_only).

The fixed batch is the first `num_images` frames of each domain's validation split, whole,
resized to the training size, read once before training starts. Its forward pass runs in
inference mode and outside any gradient: dropout is off, so it draws no random number, and
the training steps are the same, bit for bit, with or without it. `scripts/plot_run.py`
draws these curves into one PNG.
"""

import collections
import math

import gin
import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from gta_keras import figures
from gta_keras.data import pipeline
from gta_keras.data import preprocessing
from gta_keras.models import segmenter

LOG_SUBDIR = "health"
TERM_PREFIX = "loss_terms/"
CONFUSION_PREFIX = "confusion/"
CONFUSION_IMAGE_TAG = "confusion/matrix"
IMAGE_PREFIX = "images/"
MIOU_TAG = "checkpoint/source_validation_miou"
# Rows and columns of D's confusion, in the order of its domain classes
# (`discriminator.SOURCE_REAL`, ...; `feature_discriminator.SOURCE`, ...).
IMAGE_D_DOMAINS = ("src_real", "src_fake", "tgt_real", "tgt_fake")
FEATURE_D_DOMAINS = ("source", "target")
DOMAINS = ("source", "target")
IMAGE_COLUMNS = ("input", "prediction", "ground truth", "G's reconstruction")
# Drawing the confusion image, in pixels.
CELL = 56
FONT_SIZE = 12

HealthData = collections.namedtuple("HealthData", ["batches", "score", "validation"])
HealthData.__doc__ = """What `TrainingHealth` looks at besides the loss terms.

batches: {"source": (images, labels), "target": (images, labels)}: float32 [n, H, W, 3]
  RGB in [0, 255] and uint8 [n, H, W, 1], sides divisible by 32; None for no images and
  no confusion. A domain may be missing (target_only's two streams are one dataset).
score: a function of no arguments: the model's current mIoU on `validation`; None for no
  checkpoint score.
validation: the scored "name:split", or None.
"""


@gin.configurable("training_health")
def settings(every_steps=None, num_images=2, validation=None, validation_images=100,
             batch_size=None, max_panel_width=256):
    """How `train` watches a run's health (this module's docstring lists what).

    Args:
      every_steps: steps between writes of the loss terms, D's confusion and the
        images; None for every `train.steps_per_epoch` steps (at each checkpoint: the
        demo's 100 of 1500, the paper setups' 1000 of 100k); 0 for none of them, nor the
        checkpoint score.
      num_images: frames per domain in the fixed batch.
      validation: the labelled "name:split" scored at each checkpoint; None for the
        validation split of the labelled training domain
        (`make_train_dataset.source`, or its target for target_only); "" for none.
      validation_images: score its first this many frames (None: all). A health curve
        needs no more; all of GTA5's 1000 would take about 5 hours a checkpoint on this
        project's 2-core CPU (F + C at 1024x512: 18.6 s an image, docs/performance.md).
      batch_size: images per batch when scoring it; None for `evaluate.batch_size`.
      max_panel_width: panels wider are shrunk by a whole factor (100k steps of
        1024-wide panels would fill gigabytes of event files).

    Returns:
      The settings as a dict.
    """
    for name, value in (("every_steps", every_steps), ("num_images", num_images),
                        ("validation_images", validation_images),
                        ("max_panel_width", max_panel_width)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise pipeline.ConfigurationError(
                f"training_health.{name} must be a whole number >= 0, not {value!r}.")
    return {"every_steps": every_steps, "num_images": num_images,
            "validation": validation, "validation_images": validation_images,
            "batch_size": batch_size, "max_panel_width": max_panel_width}


def load_batches(splits, image_size, data_dir=None, manual_dir=None,
                 load_fn=pipeline.load_split):
    """The fixed batches: every frame of each split, resized to `image_size`.

    Args:
      splits: {domain: (TFDS name, split)}, each split the frames wanted, a slice such as
        "validation[:2]". It is read to its end: TFDS caches a small split in memory, and
        a cache read only in part is discarded with a warning.
      image_size: (height, width), the training size.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.
      load_fn: `pipeline.load_split`-like loader.

    Returns:
      {domain: (images float32 [n, H, W, 3], labels uint8 [n, H, W, 1])}.
    """
    batches = {}
    for domain, (name, split) in splits.items():
        # Batches of one: frames of one split may differ in size (GTA5).
        frames = pipeline.make_eval_dataset(name, split, 1, data_dir=data_dir,
                                            manual_dir=manual_dir, load_fn=load_fn)
        images, labels = [], []
        for image, label in frames:
            images.append(preprocessing.resize_images(image, image_size))
            labels.append(preprocessing.resize_labels(label, image_size))
        batches[domain] = (tf.concat(images, 0).numpy(), tf.concat(labels, 0).numpy())
    return batches


def confusion_rates(decisions, num_domains):
    """D's domain confusion: per row, the share of decisions naming each domain.

    Args:
      decisions: one int array per row (D's argmax on that row's inputs, any shape).
      num_domains: columns.

    Returns:
      float64 [rows, num_domains]; each row sums to 1 (a row without decisions is 0).
    """
    rates = np.zeros((len(decisions), num_domains))
    for row, values in enumerate(decisions):
        counts = np.bincount(np.ravel(values), minlength=num_domains)[:num_domains]
        rates[row] = counts / max(counts.sum(), 1)
    return rates


def confusion_tags(domains):
    """The scalar tags of a confusion matrix over `domains`, row by row."""
    return [[f"{CONFUSION_PREFIX}{row}_as_{column}" for column in domains]
            for row in domains]


def forward(model, images):
    """The model on one domain's fixed images, in inference mode (no dropout, no tape).

    Args:
      model: a `DomainAdaptationModel`.
      images: float32 [n, H, W, 3] RGB in [0, 255].

    Returns:
      A dict of tensors: "prediction" (class ids [n, H, W]); with a G, "reconstruction"
      ([n, H, W, 3] in [0, 1]); with an image D, D's domain argmax on the real images
      ("real") and on G's ("fake"); with feature_d's D, its argmax on fc7 ("real").
    """
    features, logits = segmenter.segment(model.embedder, model.classifier, images)
    outputs = {"prediction": tf.argmax(logits, -1)}
    decide = lambda inputs: tf.argmax(
        model.discriminator(inputs, training=False)["domain"], -1)
    if model.generator is not None:
        outputs["reconstruction"] = model.generator(features, training=False)
    if model.discriminator is None:
        return outputs
    if model.method == "feature_d":
        outputs["real"] = decide(features["fc7"])
        return outputs
    outputs["real"] = decide(preprocessing.unit_range(images))
    outputs["fake"] = decide(outputs["reconstruction"])
    return outputs


def look(model, batches, forward_fn=None):
    """Runs the model once on the fixed batches, in inference mode.

    Args:
      model: a `DomainAdaptationModel`.
      batches: `HealthData.batches`.
      forward_fn: `forward` bound to the model (e.g. as a `tf.function`); None for
        `forward` itself, eagerly.

    Returns:
      (panels, confusion): {domain: uint8 [n, H, k W, 3] rows of `IMAGE_COLUMNS` (k = 4
      with a G, else 3)}, and (domain names, rates) of D's confusion, or None without D
      or without both domains.
    """
    forward_fn = forward_fn or (lambda images: forward(model, images))
    panels, outputs = {}, {}
    for domain, (images, labels) in batches.items():
        out = {name: value.numpy() for name, value in forward_fn(images).items()}
        row = [np.asarray(images).astype(np.uint8), figures.colorize(out["prediction"]),
               figures.colorize(np.asarray(labels)[..., 0])]
        if "reconstruction" in out:
            row.append((np.clip(out["reconstruction"], 0, 1) * 255).astype(np.uint8))
        panels[domain] = np.concatenate(row, axis=2)
        outputs[domain] = out
    confusion = None
    if set(outputs) == set(DOMAINS) and "real" in outputs["source"]:
        if "fake" in outputs["source"]:  # Rows x_s, G(F(x_s)), x_t, G(F(x_t)).
            rows = [outputs[domain][kind] for domain in DOMAINS
                    for kind in ("real", "fake")]
            confusion = (IMAGE_D_DOMAINS, confusion_rates(rows, len(IMAGE_D_DOMAINS)))
        else:  # feature_d: rows F(x_s), F(x_t).
            rows = [outputs[domain]["real"] for domain in DOMAINS]
            confusion = (FEATURE_D_DOMAINS, confusion_rates(rows, len(FEATURE_D_DOMAINS)))
    return panels, confusion


def shrink(panels, num_columns, max_panel_width):
    """Rows of panels shrunk by a whole factor until a panel is at most that wide.

    Nearest neighbour, so that label colours stay palette colours.
    """
    width = panels.shape[2] // num_columns
    factor = max(1, math.ceil(width / max_panel_width)) if max_panel_width else 1
    return panels[:, ::factor, ::factor]


def confusion_image(domains, rates):
    """The confusion matrix as a white-to-blue heat map with its rates; uint8 [H, W, 3].

    Rows: the inputs' true domains; columns: D's decisions.
    """
    font = ImageFont.load_default(size=FONT_SIZE)
    margin = CELL + 16
    size = len(domains)
    image = Image.new("RGB", (margin + size * CELL, margin + size * CELL), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.text((margin, 2), "D's decision", fill=(0, 0, 0), font=font)
    for i, name in enumerate(domains):
        draw.text((margin + i * CELL + 2, 16 + CELL // 2), name, fill=(0, 0, 0), font=font)
        draw.text((2, margin + i * CELL + CELL // 2 - 6), name, fill=(0, 0, 0), font=font)
        for j in range(size):
            rate = float(rates[i, j])
            shade = int(round(255 * (1 - rate)))
            box = (margin + j * CELL, margin + i * CELL,
                   margin + (j + 1) * CELL - 1, margin + (i + 1) * CELL - 1)
            draw.rectangle(box, fill=(shade, shade, 255), outline=(128, 128, 128))
            text = (0, 0, 0) if rate < 0.6 else (255, 255, 255)
            draw.text((box[0] + 12, box[1] + CELL // 2 - 6), f"{rate:.2f}", fill=text,
                      font=font)
    return np.asarray(image)


class TrainingHealth(keras.callbacks.Callback):
    """Writes the run's health summaries (this module's docstring) during `fit`.

    Args:
      log_dir: the event files' folder (`<workdir>/logs/health`).
      every_steps: steps between writes of loss terms, confusion and images.
      data: a `HealthData` (its batches and score may be None).
      step: a function of no arguments: the training step (F's optimizer's count).
      max_panel_width: see `settings`.
    """

    def __init__(self, log_dir, every_steps, data, step, max_panel_width=256):
        super().__init__()
        if every_steps < 1:
            raise ValueError(f"every_steps = {every_steps} must be at least 1.")
        self.log_dir = log_dir
        self.every_steps = every_steps
        self.data = data
        self.step = step
        self.max_panel_width = max_panel_width
        self.writer = None
        self._forward = None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(self.log_dir)
        # Traced once (the batches share a shape): eagerly, each look cost the demo about
        # 0.6 s of Python dispatch.
        self._forward = tf.function(lambda images: forward(self.model, images))
        if self.step() == 0:  # The untrained model, the curves' origin.
            self._write_look(0)

    def on_train_batch_end(self, batch, logs=None):
        step = self.step()
        if step % self.every_steps:
            return
        with self.writer.as_default(step=step):
            for name, tracker in self.model.term_trackers.items():
                if float(tracker.count.numpy()) > 0:  # No step (or only skipped ones).
                    tf.summary.scalar(TERM_PREFIX + name, tracker.result())
                tracker.reset_state()
        self._write_look(step)

    def on_epoch_end(self, epoch, logs=None):
        if self.data.score is None:
            return
        miou = float(self.data.score())
        with self.writer.as_default(step=self.step()):
            tf.summary.scalar(MIOU_TAG, miou,
                              description=f"mIoU on {self.data.validation} at each "
                              "checkpoint")
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()

    def _write_look(self, step):
        """The fixed batch's images and D's confusion on it, at `step`."""
        if self.data.batches:
            panels, confusion = look(self.model, self.data.batches, self._forward)
            columns = len(IMAGE_COLUMNS) if self.model.generator is not None else 3
            with self.writer.as_default(step=step):
                for domain, rows in panels.items():
                    grid = np.concatenate(list(shrink(rows, columns, self.max_panel_width)),
                                          axis=0)
                    tf.summary.image(IMAGE_PREFIX + domain, grid[None],
                                     description=" | ".join(IMAGE_COLUMNS[:columns]))
                if confusion is not None:
                    domains, rates = confusion
                    for tags, values in zip(confusion_tags(domains), rates):
                        for tag, value in zip(tags, values):
                            tf.summary.scalar(tag, value)
                    tf.summary.image(CONFUSION_IMAGE_TAG,
                                     confusion_image(domains, rates)[None],
                                     description="rows: true domain; columns: D's "
                                     "decision")
        self.writer.flush()
