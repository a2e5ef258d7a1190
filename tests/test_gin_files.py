"""Every gin file parses against the real configurables."""

import glob
import os

import gin
import pytest

from gta_keras import configurables
from gta_keras import experiment  # pylint: disable=unused-import  (registers configurables)

GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "gin")
GIN_FILES = sorted(glob.glob(os.path.join(GIN_DIR, "*.gin")))


def test_the_expected_gin_files_exist():
    names = {os.path.basename(path) for path in GIN_FILES}
    assert {"base.gin", "demo.gin", "smoke.gin", "synthia.gin", "gta5.gin"} <= names


@pytest.mark.parametrize("path", GIN_FILES, ids=os.path.basename)
def test_gin_file_parses(path):
    configurables.parse_gin([path])
    assert gin.query_parameter("build_model.num_classes") == 19


def test_paper_hyperparameters_in_base():
    configurables.parse_gin([os.path.join(GIN_DIR, "base.gin")])
    assert gin.query_parameter("f/adam.learning_rate") == 1e-5
    assert gin.query_parameter("build_model.loss_weights") == (0.1, 0.1, 1.0, 0.1)
    assert gin.query_parameter("make_train_dataset.batch_size") == 1
    assert gin.query_parameter("make_train_dataset.image_size") == (512, 1024)
    assert gin.query_parameter("build_model.eval_size") == (512, 1024)
    assert gin.query_parameter("train.steps") == 100000


def test_paper_setups_name_their_datasets():
    configurables.parse_gin([os.path.join(GIN_DIR, "synthia.gin")])
    assert gin.query_parameter("make_train_dataset.source") == "synthia_rand_cityscapes"
    gin.clear_config()
    configurables.parse_gin([os.path.join(GIN_DIR, "gta5.gin")])
    assert gin.query_parameter("make_train_dataset.source") == "gta5"
