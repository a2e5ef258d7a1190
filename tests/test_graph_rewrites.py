"""`compile_model.grappler_memory_optimizer`: grappler's memory optimizer off by default."""

import threading

import gin
import pytest
from tensorflow.core.protobuf import rewriter_config_pb2

from gta_keras import configurables
from gta_keras import experiment
from gta_keras import graph_rewrites
from tests import tiny

OFF = rewriter_config_pb2.RewriterConfig.NO_MEM_OPT
DEFAULT = rewriter_config_pb2.RewriterConfig.DEFAULT_MEM_OPT


@pytest.fixture(autouse=True)
def restore_default():
    """Tests share their process: leave the setting as compile_model's default left it."""
    yield
    graph_rewrites.set_memory_optimizer(False)
    gin.clear_config()


def _memory_optimization():
    return graph_rewrites.function_config().graph_options.rewrite_options.memory_optimization


def test_the_switch_sets_the_function_calls_rewrite_config():
    graph_rewrites.set_memory_optimizer(True)
    assert _memory_optimization() == DEFAULT and graph_rewrites.memory_optimizer_enabled()
    graph_rewrites.set_memory_optimizer(False)
    assert _memory_optimization() == OFF and not graph_rewrites.memory_optimizer_enabled()


def test_the_switch_keeps_the_rest_of_the_config():
    before = graph_rewrites.function_config()
    graph_rewrites.set_memory_optimizer(not graph_rewrites.memory_optimizer_enabled())
    after = graph_rewrites.function_config()
    after.graph_options.rewrite_options.memory_optimization = (
        before.graph_options.rewrite_options.memory_optimization)
    assert after == before
    assert after.allow_soft_placement  # TensorFlow's default for functions, kept.


def test_compile_model_turns_it_off_by_default_and_on_when_bound():
    graph_rewrites.set_memory_optimizer(True)
    experiment.compile_model(tiny.model())
    assert not graph_rewrites.memory_optimizer_enabled()
    configurables.parse_gin([], ["compile_model.grappler_memory_optimizer = True"])
    experiment.compile_model(tiny.model())
    assert graph_rewrites.memory_optimizer_enabled()


def test_it_holds_through_a_keras_training_step():
    """Keras' `fit` calls the step from this thread with the options it carries."""
    model = experiment.compile_model(tiny.model())
    tiny.train_one_step(model, tiny.batch())
    assert not graph_rewrites.memory_optimizer_enabled()


def test_the_setting_is_the_calling_threads():
    graph_rewrites.set_memory_optimizer(False)
    seen = []
    thread = threading.Thread(
        target=lambda: seen.append(graph_rewrites.memory_optimizer_enabled()))
    thread.start()
    thread.join()
    # Another thread starts from TensorFlow's default: train from the thread that
    # compiled the model (as `experiment.train` and the benchmark do).
    assert seen == [True]
