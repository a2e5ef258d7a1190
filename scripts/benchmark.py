"""Measures training-step and inference speed, and peak memory; prints JSON.

  python scripts/benchmark.py --gin_file=gin/demo.gin [--steps=20] [--output=bench.json]

Random data of the configured training size, so it needs no dataset. For each update
reading and method, the mean seconds per training step after warm-up; then images per
second of the segmenter alone at the evaluation size. Timings are only comparable within
one run (as ratios), on one machine.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import json
import resource
import time

from absl import app
from absl import flags
import gin
import numpy as np
import tensorflow as tf

from gta_keras import configurables
from gta_keras import experiment
from gta_keras import machine
from gta_keras.models import factory

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", ["gin/demo.gin"], "Gin files of the setup.")
flags.DEFINE_multi_string("gin_bindings", [], "Extra gin bindings.")
flags.DEFINE_integer("steps", 20, "Timed steps per configuration (after 3 warm-up).")
flags.DEFINE_string("output", None, "Also write the JSON here.")

CONFIGURATIONS = (("lsd", "single_pass"), ("lsd", "sequential"),
                  ("source_only", "single_pass"))


def _random_triplets(image_size, batch_size):
    rng = np.random.default_rng(0)
    shape = (batch_size,) + tuple(image_size)
    source = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    labels = rng.integers(0, 19, shape + (1,)).astype(np.uint8)
    target = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    return tf.data.Dataset.from_tensors((source, labels, target)).repeat()


def time_training(method, reading, dataset, steps):
    """Mean seconds per training step."""
    model = experiment.compile_model(
        factory.build_model(method=method, update_reading=reading))
    model.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return (time.perf_counter() - start) / steps, model


def time_inference(model, size, batch_size, repeats=10):
    """Images per second of C(F(x)) at `size`."""
    images = tf.random.uniform((batch_size,) + tuple(size) + (3,), 0, 255)
    predict = tf.function(lambda x: model(x, training=False))
    predict(images)
    start = time.perf_counter()
    for _ in range(repeats):
        predict(images).numpy()
    return repeats * batch_size / (time.perf_counter() - start)


def main(argv):
    del argv
    configurables.parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
    image_size = gin.query_parameter("make_train_dataset.image_size")
    batch_size = gin.query_parameter("make_train_dataset.batch_size")
    dataset = _random_triplets(image_size, batch_size)
    results = {"gin_files": FLAGS.gin_file, "gin_bindings": FLAGS.gin_bindings,
               "image_size": list(image_size), "batch_size": batch_size,
               "machine": machine.describe(),
               "train_seconds_per_step": {}}
    model = None
    for method, reading in CONFIGURATIONS:
        seconds, trained = time_training(method, reading, dataset, FLAGS.steps)
        results["train_seconds_per_step"][f"{method}/{reading}"] = round(seconds, 4)
        model = model or trained
    eval_size = gin.query_parameter("segmenter.eval_size") or image_size
    results["inference_images_per_second"] = round(
        time_inference(model, eval_size, batch_size), 2)
    results["eval_size"] = list(eval_size)
    results["peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    text = json.dumps(results, indent=2)
    print(text)
    if FLAGS.output:
        with open(FLAGS.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    app.run(main)
