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

Measured in docs/performance.md; not used by training unless a caller asks for it.
"""

import keras
from keras import tree

POLICIES = ("float32", "mixed_bfloat16")


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
