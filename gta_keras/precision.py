"""bfloat16 mixed precision for the composite model, without touching its training code.

Under Keras' "mixed_bfloat16" policy every layer computes in bfloat16 and keeps float32
variables (the master copy each optimizer updates; bfloat16 has float32's exponent range,
so no loss scaling is needed). The losses (gta_keras/losses.py) mix the players' outputs
with float32 images and labels, so each player's outputs must leave it as float32:
`float32_outputs` rewraps a functional player so that its outputs are cast to float32,
sharing every layer and variable with the original.

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = factory.build_model(...)
    precision.cast_player_outputs(model)
    experiment.compile_model(model)

Training takes it from gin: `precision.policy = 'mixed_bfloat16'` (`training_policy`,
used by `experiment.build_training_model`); evaluation and export always build float32
models (the checkpoint's variables are float32 either way). Measured in
docs/performance.md.
"""

import gin
import keras
from keras import tree

POLICIES = ("float32", "mixed_bfloat16")


@gin.configurable("precision")
def training_policy(policy="float32"):
    """The Keras dtype policy training builds its model under (gin: `precision.policy`).

    "mixed_bfloat16" is for hardware with fast bfloat16 (AVX512_BF16 or AMX CPUs, TPUs,
    recent GPUs); elsewhere it is probably slower: measure with
    `scripts/benchmark.py --mode=paper --compare_precision`.
    """
    return policy


def build_in_policy(policy, build_fn):
    """`build_fn()` under Keras' global dtype `policy` (restored afterwards).

    Args:
      policy: one of `POLICIES`.
      build_fn: returns an uncompiled `DomainAdaptationModel`.

    Returns:
      The model; under a mixed policy, with float32 player outputs
      (`cast_player_outputs`).

    Raises:
      ValueError: an unknown policy.
    """
    if policy not in POLICIES:
        raise ValueError(f"Unknown precision.policy {policy!r}; use one of {POLICIES}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = build_fn()
    finally:
        keras.config.set_dtype_policy(previous)
    return model if policy == "float32" else cast_player_outputs(model)


def float32_outputs(player):
    """A functional model over `player`'s layers whose every output is float32."""
    if player is None:
        return None
    outputs = tree.map_structure(
        lambda x: keras.layers.Activation("linear", dtype="float32")(x), player.outputs)
    outputs = tree.pack_sequence_as(player.output, outputs)
    return keras.Model(player.inputs, outputs, name=player.name)


def cast_player_outputs(model):
    """Makes C's, G's and D's outputs (and F's) float32 on `model`, in place.

    Call before `compile` (and before the optimizers are built): the players' variables
    are the same objects afterwards, only the models around them are new.
    """
    for name in ("embedder", "classifier", "generator", "discriminator"):
        player = getattr(model, name, None)
        if player is not None:
            setattr(model, name, float32_outputs(player))
    return model
