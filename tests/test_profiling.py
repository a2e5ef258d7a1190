"""TensorFlow's profiler trace, summed by op type and by part of the step."""

import keras
import tensorflow as tf

from gta_keras import profiling


def test_part_of_names_the_direction_and_the_model():
    assert profiling.part_of("discriminator_3/stem_conv/Conv2D") == "forward/discriminator"
    assert (profiling.part_of("gradient_tape/generator_1/out/conv2d_transpose")
            == "backward/generator")
    assert profiling.part_of("embedder/block1_conv1/Relu") == "forward/embedder"
    assert profiling.part_of("AddN") == "other"


def test_summarize_adds_seconds_per_call_largest_first():
    events = [("d/conv/Conv2D", "Conv2D", 3.0),
              ("gradient_tape/d/conv/Conv2DBackpropFilter", "Conv2DBackpropFilter", 5.0),
              ("d_1/conv/Conv2D", "Conv2D", 1.0)]
    summary = profiling.summarize(events, calls=2)
    assert summary["by_op_type"] == {"Conv2DBackpropFilter": 2.5, "Conv2D": 2.0}
    assert list(summary["by_part"]) == ["backward/d", "forward/d"]
    assert summary["by_part"]["forward/d"] == 2.0
    assert summary["op_seconds_per_call"] == 4.5


def test_a_traced_training_step_is_profiled_forward_and_backward(tmp_path):
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    model = keras.Model(inputs, outputs, name="player")
    images = tf.random.uniform([1, 16, 16, 3])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(images)))
        return tape.gradient(loss, model.trainable_variables)[0]

    step()
    profile = profiling.profile_calls(lambda: step().numpy(), calls=2,
                                      logdir=str(tmp_path))
    conv_types = [name for name in profile["by_op_type"] if "Conv2D" in name]
    assert conv_types, profile["by_op_type"]
    assert "forward/player" in profile["by_part"], profile["by_part"]
    assert "backward/player" in profile["by_part"], profile["by_part"]
    assert profile["op_seconds_per_call"] > 0
