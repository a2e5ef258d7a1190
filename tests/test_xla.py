"""XLA (`compile_model.jit_compile = True`) trains as the plain graph does, within float
tolerance: the same losses and updated weights on a fixed input and seed.

With dropout off: XLA compiles TensorFlow's stateless random ops into other draws, so
with dropout on the two runs drop different units (d_loss 0.35% apart on the first step
here), another sample rather than a rounding difference.
"""

import pytest
import tensorflow as tf

from gta_keras.models import factory
from tests import tiny

# Two graph traces and one XLA compilation: about a minute on an idle 2-core machine. The
# whole file is slow, so `make test-fast` and `make bazel-quick` leave it out.
pytestmark = pytest.mark.slow

# No residual blocks in G and D: every op kind of the step is still there (transposed
# convs, norms, dropout, both heads), and XLA compiles it in seconds.
SMALL = {"generator": factory.GeneratorConfig(blocks_per_stage=0),
         "discriminator": factory.DiscriminatorConfig(blocks_per_stage=0)}


def _trained(jit_compile, steps=2):
    model = tiny.model(method="lsd", seed=0, **SMALL)
    for part in ("embedder", "classifier", "generator", "discriminator"):
        for layer in getattr(model, part).layers:
            if hasattr(layer, "rate"):
                layer.rate = 0.0
    initial = tiny.snapshot(model.trainable_variables)
    step = tf.function(model.train_step, jit_compile=jit_compile)
    losses = [{k: float(v) for k, v in step(tiny.batch(seed=s)).items()}
              for s in range(steps)]
    return losses, [v.numpy() for v in model.trainable_variables], initial


def test_an_xla_step_equals_the_plain_step():
    plain_losses, plain_weights, initial = _trained(jit_compile=False)
    losses, weights, _ = _trained(jit_compile=True)
    # Each variable's whole update agrees to 1%: XLA fuses and reorders float sums.
    tiny.assert_same_training(losses, weights, plain_losses, plain_weights, initial,
                              update_tolerance=1e-2)
