"""One player's forward and backward at 320x160 in a TF graph, under XLA, or with only its
norm layers under XLA (docs/performance.md, "XLA per player", 2026-12-04).

Usage, from the repository root (TF_ENABLE_ONEDNN_OPTS=0 before it for the oneDNN-off
columns):

  python docs/experiments/2026-12-04-xla-per-player.py F|G|D [--d_norm=instance|layer|none]

Full widths, random weights and inputs, `training=False`; the loss is the sum of squares of
the player's outputs, the gradient that of its weights. Prints the median and fastest of 7
calls after 2 per variant, and how far each variant's gradients are from the graph's.
"""

import argparse
import statistics
import time

import keras
import tensorflow as tf

from gta_keras import machine
from gta_keras.models import discriminator
from gta_keras.models import embedder
from gta_keras.models import generator

HEIGHT, WIDTH = 160, 320


def player_and_inputs(name, d_norm):
    """The player and its inputs at 320x160: F and G see 2 images, D the lsd step's 4."""
    if name == "F":
        return (embedder.build_embedder(fc_matmul=True),
                tf.random.uniform([2, HEIGHT, WIDTH, 3]) * 255)
    if name == "G":
        return (generator.build_generator(4096, 512, 256),
                {"fc7": tf.random.uniform([2, HEIGHT // 32, WIDTH // 32, 4096]),
                 "pool4": tf.random.uniform([2, HEIGHT // 16, WIDTH // 16, 512]),
                 "pool3": tf.random.uniform([2, HEIGHT // 8, WIDTH // 8, 256])})
    return (discriminator.build_discriminator(19, norm=d_norm),
            tf.random.uniform([4, HEIGHT, WIDTH, 3]))


def compile_norms(model):
    """Puts each normalisation layer's call, alone, under XLA."""
    norms = (keras.layers.GroupNormalization, keras.layers.LayerNormalization)
    for layer in model.layers:
        if isinstance(layer, norms):
            layer.call = tf.function(layer.call, jit_compile=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("player", choices=["F", "G", "D"])
    parser.add_argument("--d_norm", default="instance")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model, inputs = player_and_inputs(args.player, args.d_norm)

    def loss_and_grads(x):
        with tf.GradientTape() as tape:
            outputs = tf.nest.flatten(model(x, training=False))
            loss = tf.add_n([tf.reduce_sum(tf.square(output)) for output in outputs])
        return loss, tape.gradient(loss, model.trainable_variables)

    print(machine.one_line(), flush=True)
    results = {}
    for variant in ("graph", "xla", "xla_norms_only"):
        if variant == "xla_norms_only":
            compile_norms(model)  # Last: the graph and xla variants are traced by now.
        fn = tf.function(loss_and_grads, jit_compile=variant == "xla")
        for _ in range(2):
            fn(inputs)
        times = []
        for _ in range(7):
            start = time.perf_counter()
            results[variant] = fn(inputs)
            float(results[variant][0])
            times.append(time.perf_counter() - start)
        gap = max(float(tf.reduce_max(tf.abs(a - b)) / tf.reduce_max(tf.abs(a)))
                  for a, b in zip(results["graph"][1], results[variant][1]))
        print(f"{args.player} {variant}: median {statistics.median(times):.3f} s, "
              f"fastest {min(times):.3f} s; gradients' largest gap to the graph's / "
              f"their largest value {gap:.1e}", flush=True)


if __name__ == "__main__":
    main()
