"""Every gin file parses against the real configurables and says what it claims to."""

import glob
import os

import gin
import pytest

from gta_keras import configurables
from gta_keras import experiment  # pylint: disable=unused-import  (registers configurables)

GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "gin")
GIN_FILES = sorted(glob.glob(os.path.join(GIN_DIR, "*.gin")))
# Layers to include after a full configuration, not runs of their own.
LAYERS = {"reference.gin"}


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def _parse(*names):
    configurables.parse_gin([os.path.join(GIN_DIR, name) for name in names])


def test_the_expected_gin_files_exist():
    names = {os.path.basename(path) for path in GIN_FILES}
    assert {"base.gin", "demo.gin", "smoke.gin", "synthia.gin", "gta5.gin", "reference.gin",
            "synthia_reference.gin", "gta5_reference.gin"} <= names


@pytest.mark.parametrize("path", GIN_FILES, ids=os.path.basename)
def test_gin_file_parses(path):
    name = os.path.basename(path)
    _parse(*(["base.gin", name] if name in LAYERS else [name]))
    assert gin.query_parameter("build_model.num_classes") == 19


def test_base_is_the_papers_text():
    _parse("base.gin")
    q = gin.query_parameter
    # Section 4, "Implementation details".
    assert q("f/adam.learning_rate") == 1e-5
    assert q("g/adam.learning_rate") == q("d/adam.learning_rate") == 2e-4
    for player in ("f", "g", "d"):  # Adam, no betas named: Adam's own.
        assert (q(f"{player}/adam.beta_1"), q(f"{player}/adam.beta_2")) == (0.9, 0.999)
    with pytest.raises(ValueError):
        q("f/adam.decay_steps")  # no learning-rate decay in the text
    assert q("make_train_dataset.batch_size") == 1
    assert q("make_train_dataset.image_size") == (512, 1024)
    assert q("make_train_dataset.min_crop_fraction") == 1.0  # "resized and cropped"
    assert q("segmenter.eval_size") == (512, 1024)
    assert q("segmenter.upsampling") == "bilinear_logits"
    assert q("train.steps") == 100000
    assert q("embedder.imagenet_weights") == "imagenet"
    assert (q("embedder.width_multiplier"), q("embedder.fc_width")) == (1.0, 4096)
    assert q("generator.norm") == q("discriminator.norm") == "instance"
    assert q("discriminator.patch") is True
    # Where the text is silent: the authors' code.
    assert q("compile_model.bias_lr_multiplier") == 2.0
    assert q("build_model.reduction") == "sum"
    assert q("build_model.update_reading") == "single_pass"
    assert q("classifier.train_upsampling") is False
    assert (q("loss_weights.alpha"), q("loss_weights.beta"), q("loss_weights.reconstruction"),
            q("loss_weights.generator_adversarial")) == (0.1, 0.1, 1.0, 0.1)


@pytest.mark.parametrize("name", ["synthia_reference.gin", "gta5_reference.gin"])
def test_reference_files_set_every_difference_of_the_authors_code(name):
    _parse(name)
    q = gin.query_parameter
    assert (q("f/adam.decay_steps"), q("f/adam.decay_rate")) == (23800, 0.1)
    for player in ("g", "d"):
        assert (q(f"{player}/adam.learning_rate"), q(f"{player}/adam.beta_1")) == (1e-4, 0.7)
    assert q("embedder.dropout") == "spatial"
    assert q("generator.output_kernel_size") == 8
    assert q("generator.norm_affine") is False and q("discriminator.norm_affine") is False
    assert q("generator.init") == q("discriminator.init") == "normal_0.02"
    assert q("make_train_dataset.crop") == "native"
    assert q("make_train_dataset.image_size") == (320, 640)
    assert q("segmenter.upsampling") == "nearest_labels"
    assert q("segmenter.eval_size") == (320, 640)
    assert q("train.track_best_every") == 500
    assert q("checkpoint_selection.rule") == "tracked_best"
    source = q("make_train_dataset.source")
    assert q("train.track_best") == f"{source}:validation"
    if source == "gta5":
        assert q("make_train_dataset.source_width") == 1280


def test_paper_setups_name_their_datasets():
    _parse("synthia.gin")
    assert gin.query_parameter("make_train_dataset.source") == "synthia_rand_cityscapes"
    gin.clear_config()
    _parse("gta5.gin")
    assert gin.query_parameter("make_train_dataset.source") == "gta5"


@pytest.mark.parametrize("name,matrix_forms", [
    ("base.gin", True), ("synthia.gin", True), ("gta5.gin", True),
    ("demo.gin", False), ("smoke.gin", False),
])
def test_the_paper_setups_use_the_matrix_forms_and_the_demo_not(name, matrix_forms):
    # fc6, fc7 and G's first layer (gta_keras/models/patch_conv.py): faster at the paper's
    # sizes; the demo's published figures were measured with convolutions.
    _parse(name)
    assert gin.query_parameter("embedder.fc_matmul") is matrix_forms
    assert gin.query_parameter("generator.stage1_matmul") is matrix_forms


def test_demo_keeps_its_own_settings_apart_from_the_paper():
    # The demo was tuned with these; base.gin moving to the paper's text must not move it.
    _parse("demo.gin")
    q = gin.query_parameter
    assert q("make_train_dataset.min_crop_fraction") == 0.5
    for player in ("g", "d"):
        assert (q(f"{player}/adam.learning_rate"), q(f"{player}/adam.beta_1")) == (1e-4, 0.7)
    assert q("loss_weights.beta") == 0.3
    assert q("build_model.reduction") == "mean"
    assert q("discriminator.norm") == "layer"
    assert q("generator.init") == q("discriminator.init") == "normal_0.02"
