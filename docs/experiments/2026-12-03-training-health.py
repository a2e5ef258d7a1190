"""Measurements behind 2026-12-03-training-health.md: does the demo's G reconstruct?

  .venv/bin/python docs/experiments/2026-12-03-training-health.py --workdir=RUN \
      [--fit_steps=3000] [--fit_widths=0.125,0.5] [--output=DIR]
  .venv/bin/python docs/experiments/2026-12-03-training-health.py --workdir=RUN \
      --output=DIR --figure=PNG      # only the figure, from DIR's reconstructions.npz

RUN is a trained `gin/demo.gin` run (its newest checkpoint is read). Prints JSON (and writes
DIR/study.json, DIR/reconstructions.npz) with:

  reconstruction   on the first 4 validation frames of each domain: G's L1 in inference
                   mode and with dropout on, against a constant image of the frames' mean
                   colour and against the frames averaged to 1/8 (pool3's resolution) and
                   upsampled; the share of G's output values within 0.02 of 0 or 1; the
                   channel means of G's output and of the input;
  confusion        D's 4x4 domain confusion on the first 8 validation frames per domain,
                   G (and F) in inference mode or with dropout on (mean of 5 draws);
  gradient_share   each weighted term's share of the norm of G's gradient (dropout on, 8
                   training batches): on the run's initial model (seed 0, as `train`
                   builds it) and on its checkpoint;
  l1_only_fit      a fresh G of each width in --fit_widths, fitted with the L1 terms alone
                   (G's optimizer of the demo) on the checkpoint's frozen F, for
                   --fit_steps steps: its L1 on the frames above as it goes.

--figure draws the first two frames of each domain: input | G at steps 0 and 600 (from the
run's `images/...` summaries) | G at the checkpoint | G with dropout on | the L1-only G of
each width | the input at 1/8.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":
    quiet.install()

import io
import json
import os
import time

from absl import app
from absl import flags
import gin
import keras
import numpy as np
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util
import tensorflow as tf

from gta_keras import configurables
from gta_keras import experiment
from gta_keras import figures
from gta_keras import health
from gta_keras import losses
from gta_keras import runs
from gta_keras.data import pipeline
from gta_keras.data import preprocessing
from gta_keras.models import factory
from gta_keras.models import segmenter

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "A trained gin/demo.gin run.")
flags.DEFINE_string("output", None, "Folder for study.json and the images (optional).")
flags.DEFINE_integer("fit_steps", 3000, "Steps of each L1-only fit (0: none).")
flags.DEFINE_list("fit_widths", ["0.125", "0.5"], "G widths of the L1-only fits.")
flags.DEFINE_string("figure", None, "Only write this PNG from --output's results.")
flags.mark_flag_as_required("workdir")

GIN_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "gin", "demo.gin")
SPECS = {"source": "procedural_streets/synthetic:validation",
         "target": "procedural_streets/realistic:validation"}
FIT_CHECKPOINTS = (600, 1500, 3000)


def first_frames(count):
    """SPECS as `health.load_batches` takes them: each split's first `count` frames."""
    return {domain: (spec.rpartition(":")[0], f"{spec.rpartition(':')[2]}[:{count}]")
            for domain, spec in SPECS.items()}


def l1(a, b):
    return float(np.mean(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def coarse(images, size):
    """Images in [0, 1] averaged to 1/8 of `size` and upsampled bilinearly."""
    small = tf.image.resize(images, (size[0] // 8, size[1] // 8), method="area")
    return tf.image.resize(small, size, method="bilinear").numpy()


def reconstruction(model, batches, size):
    """G's L1 in two modes beside two baselines; its output's range and means."""
    result, images_out = {}, {}
    for domain, (images, _) in batches.items():
        unit = images / 255.0
        features, _ = segmenter.segment(model.embedder, model.classifier, images)
        inference = model.generator(features, training=False).numpy()
        dropout = [model.generator(features, training=True).numpy() for _ in range(3)]
        result[domain] = {
            "l1_inference": l1(inference, unit),
            "l1_dropout_on": float(np.mean([l1(d, unit) for d in dropout])),
            "l1_dropout_vs_inference": float(np.mean([l1(d, inference) for d in dropout])),
            "l1_constant_mean_colour": l1(np.broadcast_to(unit.mean(axis=(0, 1, 2)),
                                                          unit.shape), unit),
            "l1_coarse_1_8": l1(coarse(unit, size), unit),
            "saturated_share": float(np.mean((inference < 0.02) | (inference > 0.98))),
            "output_channel_means": inference.mean(axis=(0, 1, 2)).round(3).tolist(),
            "input_channel_means": unit.mean(axis=(0, 1, 2)).round(3).tolist(),
        }
        images_out[f"{domain}_inference"] = inference
        images_out[f"{domain}_dropout_on"] = dropout[0]
        images_out[f"{domain}_coarse"] = coarse(unit, size)
    return result, images_out


def confusion(model, batches, f_training, g_training, draws=1):
    """D's domain confusion on (x_s, G(F(x_s)), x_t, G(F(x_t))), mean over draws."""
    matrices = []
    for _ in range(draws):
        rows = []
        for domain in health.DOMAINS:
            images, _ = batches[domain]
            features, _ = segmenter.segment(model.embedder, model.classifier, images,
                                            f_training)
            fake = model.generator(features, training=g_training)
            for inputs in (preprocessing.unit_range(images), fake):
                domain_logits = model.discriminator(inputs, training=False)["domain"]
                rows.append(tf.argmax(domain_logits, -1).numpy())
        matrices.append(health.confusion_rates(rows, len(health.IMAGE_D_DOMAINS)))
    return np.mean(matrices, axis=0).round(3).tolist()


def gradient_share(model, batches=8):
    """Each weighted G term's share of the summed norms of its gradient w.r.t. G."""
    weights = model.loss_weights
    coefficients = {"g/aux": 1.0, "g/adversarial_source": weights.generator_adversarial,
                    "g/adversarial_target": weights.generator_adversarial,
                    "g/l1_source": weights.reconstruction,
                    "g/l1_target": weights.reconstruction}
    norms = {name: [] for name in coefficients}
    variables = model.generator.trainable_variables
    for triplet in pipeline.make_train_dataset(seed=123).take(batches):
        with tf.GradientTape(persistent=True) as tape:
            terms = model.compute_losses(*triplet, training=True).terms
        for name, coefficient in coefficients.items():
            gradients = [g for g in tape.gradient(terms[name], variables) if g is not None]
            norms[name].append(coefficient * float(tf.linalg.global_norm(gradients)))
        del tape
    means = {name: float(np.mean(values)) for name, values in norms.items()}
    total = sum(means.values())
    return {"share": {name: round(value / total, 4) for name, value in means.items()},
            "norm": {name: round(value, 4) for name, value in means.items()}}


def l1_only_fit(model, batches, width, steps):
    """A fresh G of `width` fitted with L1 alone on the frozen F; its L1 as it goes."""
    with gin.unlock_config():
        gin.bind_parameter("generator.width_multiplier", width)
    keras.utils.set_random_seed(5)
    generator = factory.build_model(skip_imagenet_weights=True).generator
    optimizer = keras.optimizers.Adam(gin.query_parameter("g/adam.learning_rate"),
                                      beta_1=gin.query_parameter("g/adam.beta_1"))
    iterator = iter(pipeline.make_train_dataset(seed=321))

    @tf.function
    def step(source, target):
        features = [model.embedder(preprocessing.embedder_input(x), training=False)
                    for x in (source, target)]
        with tf.GradientTape() as tape:
            loss = sum(losses.l1_reconstruction(x / 255.0, generator(f, training=True))
                       for x, f in zip((source, target), features))
        gradients = tape.gradient(loss, generator.trainable_variables)
        optimizer.apply(gradients, generator.trainable_variables)

    curve, outputs, start = [], {}, time.time()
    for i in range(1, steps + 1):
        source, _, target = next(iterator)
        step(source, target)
        if i in FIT_CHECKPOINTS or i == steps:
            point = {"step": i}
            for domain, (images, _) in batches.items():
                features, _ = segmenter.segment(model.embedder, model.classifier, images)
                output = generator(features, training=False).numpy()
                point[domain] = l1(output, images / 255.0)
                means = output.mean(axis=(0, 1, 2)).round(3).tolist()
                point[f"{domain}_channel_means"] = means
                outputs[f"{domain}_fit_{width}_{i}"] = output
            curve.append(point)
            print(json.dumps(point), flush=True)
    return {"width": width, "parameters": generator.count_params(), "curve": curve,
            "seconds": round(time.time() - start, 1)}, outputs


def summary_panels(workdir, domain, step, rows=2):
    """G's column of `images/<domain>` at `step` from the run's health event file."""
    events = event_accumulator.EventAccumulator(
        os.path.join(runs.log_dir(workdir), health.LOG_SUBDIR),
        size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    for event in events.Tensors(health.IMAGE_PREFIX + domain):
        if event.step == step:
            png = tensor_util.make_ndarray(event.tensor_proto)[2]
            grid = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
            height = grid.shape[0] // rows
            width = grid.shape[1] // len(health.IMAGE_COLUMNS)
            return grid[:, 3 * width:].reshape(rows, height, width, 3)
    raise ValueError(f"No images/{domain} at step {step} in {workdir}.")


def draw_figure(workdir, output, path, rows=2):
    """The reconstruction figure of the study (see the module docstring)."""
    with open(os.path.join(output, "study.json")) as f:
        study = json.load(f)
    arrays = np.load(os.path.join(output, "reconstructions.npz"))
    to_uint8 = lambda a: (np.clip(a, 0, 1) * 255).astype(np.uint8)
    titles = ["input", "G, step 0", "G, step 600", f"G, step {study['step']}",
              "G, dropout on"]
    titles += [f"L1-only G x{fit['width']:g}, {fit['curve'][-1]['step']} steps"
               for fit in study["l1_only_fit"]]
    titles.append("input at 1/8")
    blocks = []
    for domain in health.DOMAINS:
        columns = [arrays[domain][:rows].astype(np.uint8),
                   summary_panels(workdir, domain, 0, rows),
                   summary_panels(workdir, domain, 600, rows),
                   to_uint8(arrays[f"{domain}_inference"][:rows]),
                   to_uint8(arrays[f"{domain}_dropout_on"][:rows])]
        for fit in study["l1_only_fit"]:
            last = fit["curve"][-1]["step"]
            columns.append(to_uint8(arrays[f"{domain}_fit_{fit['width']}_{last}"][:rows]))
        columns.append(to_uint8(arrays[f"{domain}_coarse"][:rows]))
        blocks.append(np.concatenate(columns, axis=2))
    figures.save_grid(blocks, path, column_titles=titles,
                      block_titles=[SPECS[domain] for domain in health.DOMAINS])


def main(argv):
    del argv
    if FLAGS.figure:
        draw_figure(FLAGS.workdir, FLAGS.output, FLAGS.figure)
        return
    configurables.parse_gin([GIN_FILE])
    size = tuple(gin.query_parameter("make_train_dataset.image_size"))
    keras.utils.set_random_seed(0)  # The run's initial model, as `train` builds it.
    initial = experiment.build_training_model()
    result = {"initial_gradient_share": gradient_share(initial)}
    model, checkpointer = experiment.restore(FLAGS.workdir)
    result["step"] = checkpointer.step
    batches = health.load_batches(first_frames(4), size)
    result["reconstruction"], images = reconstruction(model, batches, size)
    eight = health.load_batches(first_frames(8), size)
    result["confusion"] = {
        "inference": confusion(model, eight, False, False),
        "g_dropout_on": confusion(model, eight, False, True, draws=5),
        "f_and_g_dropout_on": confusion(model, eight, True, True, draws=5)}
    result["gradient_share"] = gradient_share(model)
    print(json.dumps(result, indent=1), flush=True)
    result["l1_only_fit"] = []
    for width in FLAGS.fit_widths if FLAGS.fit_steps else ():
        fit, outputs = l1_only_fit(model, batches, float(width), FLAGS.fit_steps)
        result["l1_only_fit"].append(fit)
        images.update(outputs)
    print(json.dumps(result["l1_only_fit"], indent=1), flush=True)
    if FLAGS.output:
        os.makedirs(FLAGS.output, exist_ok=True)
        with open(os.path.join(FLAGS.output, "study.json"), "w") as f:
            json.dump(result, f, indent=1)
        np.savez_compressed(os.path.join(FLAGS.output, "reconstructions.npz"),
                            **{domain: batch[0] for domain, batch in batches.items()},
                            **images)


if __name__ == "__main__":
    app.run(main)
