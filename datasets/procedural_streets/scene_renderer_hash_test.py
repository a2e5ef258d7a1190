"""Pins the exact output of the `procedural_streets` renderer and builder to sha256 digests.

The other renderer tests check properties (labels are trainIds, domains differ, ...); these
check that the pixels themselves do not move. A refactoring of the renderer must leave the
digests unchanged: every image, every label and every serialized example byte-identical,
which also means the random numbers are drawn in the same order.

The training pair (`synthetic`, `realistic`) and the unseen `dusk` domain have digests of
their own: the demo's recorded results rest on the pair, so adding or changing another
domain must leave the pair's digests exactly as they were.

If a digest changes on purpose (a new palette, another layout distribution), the dataset is
a different dataset: bump the builder's VERSION and recompute the constants with
`_render_digest()` and `_example_digest()`.
"""

import hashlib

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.core import example_serializer

from gta_keras.datasets.procedural_streets import procedural_streets_dataset_builder as psb
from gta_keras.datasets.procedural_streets import scene_renderer as sr

# The demo's source and target, whose digests were recorded before `dusk` existed.
TRAINING_DOMAINS = ("synthetic", "realistic")

# (seed, domain, height, width): the builder's size for both domains, a few seeds including
# one from the realistic config's range, and two other sizes (odd ones round differently).
RENDER_CASES = tuple(
    (seed, domain, 128, 256) for seed in (0, 7, 123, 1_000_001) for domain in TRAINING_DOMAINS
) + ((9, "realistic", 64, 128), (42, "synthetic", 75, 133), (42, "realistic", 75, 133))
RENDER_SHA256 = "efc3082685e04c736934a70ea963115c0a49ab0f0c7b7db9550559b4957c314c"
# The same for `dusk`: the seeds above, one from its validation range, an odd size.
DUSK_RENDER_CASES = tuple(
    (seed, "dusk", 128, 256) for seed in (0, 7, 123, 2_100_000)) + ((42, "dusk", 75, 133),)
DUSK_RENDER_SHA256 = "7d23fec08245c6e950b9262e003171b9a8782c55bf3ed03fb4ed801a8f09382f"

# The first examples of the `tuning` split of each training config, as TFDS serializes them.
EXAMPLES_PER_CONFIG = 2
EXAMPLES_SHA256 = "78e50553ca0926cc27a8b8c206cc1cca1cc168d6556bc2858bcf0c58560022c7"
# The first examples of dusk's only split, `validation`.
DUSK_EXAMPLES_SHA256 = "638775064ad815676a32b054538c79558be1ba56cd279bd39f3e5de256d01d2e"


def _render_digest(cases=RENDER_CASES):
    """sha256 of the image and label arrays of `cases`, with their shapes and dtypes."""
    digest = hashlib.sha256()
    for seed, domain, height, width in cases:
        image, label = sr.render_scene(seed, domain, height, width)
        for array in (image, label):
            # The header keeps a change of shape or dtype from hashing to the same bytes.
            digest.update(f"{seed}/{domain}/{array.dtype}{array.shape};".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _example_digest(data_dir, configs=(("synthetic", "tuning"), ("realistic", "tuning"))):
    """sha256 of the tf.train.Example protos the builder writes for a few scenes.

    Args:
      data_dir: a TFDS data dir (nothing is written to it).
      configs: (config name, split) pairs, EXAMPLES_PER_CONFIG examples of each.

    Covers the builder's seed mapping and PNG encoding as well as the renderer. The protos
    are hashed in protobuf's deterministic serialization: the bytes TFDS writes order the
    feature map differently from one process to the next, though their content is the same.
    The PNG bytes depend on the zlib that Pillow links, so this digest can change with the
    environment while `_render_digest()` stays the same; then only this constant needs
    recomputing.
    """
    digest = hashlib.sha256()
    for name, split in configs:
        builder = tfds.builder(f"procedural_streets/{name}", data_dir=data_dir)
        features = builder.info.features
        serializer = example_serializer.ExampleSerializer(features.get_serialized_info())
        for key, example in builder._generate_examples(split, EXAMPLES_PER_CONFIG):
            proto = serializer.get_tf_example(features.encode_example(example))
            digest.update(key.encode() + b";")
            digest.update(proto.SerializeToString(deterministic=True))
    return digest.hexdigest()


def test_rendered_arrays_match_the_pinned_digest():
    assert _render_digest() == RENDER_SHA256, (
        "The renderer's pixels changed: a refactoring must keep them byte-identical.")


def test_serialized_builder_examples_match_the_pinned_digest(tmp_path):
    assert _example_digest(tmp_path) == EXAMPLES_SHA256, (
        "The builder's example bytes changed (see _example_digest for causes).")


def test_dusk_rendered_arrays_match_their_pinned_digest():
    assert _render_digest(DUSK_RENDER_CASES) == DUSK_RENDER_SHA256, (
        "The dusk renderer's pixels changed: bump the builder's VERSION if on purpose.")


def test_dusk_builder_examples_match_their_pinned_digest(tmp_path):
    assert _example_digest(tmp_path, (("dusk", "validation"),)) == DUSK_EXAMPLES_SHA256, (
        "The dusk builder's example bytes changed (see _example_digest for causes).")


def test_the_digests_cover_every_config():
    # A config added later gets its own digest here, rather than none.
    assert {config.name for config in psb.Builder.BUILDER_CONFIGS} == {
        *TRAINING_DOMAINS, "dusk"}
