"""TFDS builder for `procedural_streets`: street scenes rendered on the spot, no download.

Three configs share one scene-layout distribution and the Cityscapes trainId label set;
only appearance differs: `synthetic` (flat, game-like) and `realistic` (textured, lit,
blurred, noisy) are the demo's source and target, and `dusk` (low sun or blue hour, lamps,
low-light noise) is an unseen domain that is only scored on, never trained or tuned on, as
CamVid in the paper's Table 5. Each (domain, split) renders its own seed range, so no
scene appears twice.

    import tensorflow_datasets as tfds
    from gta_keras.datasets.procedural_streets import procedural_streets_dataset_builder

    builder = tfds.builder("procedural_streets/synthetic", data_dir=data_dir)
    builder.download_and_prepare()
    train = builder.as_dataset(split="train", as_supervised=True)
"""

import dataclasses
import io
import multiprocessing
import os
import signal
import sys

from etils import epath
from PIL import Image
import tensorflow_datasets as tfds

from gta_keras.datasets.procedural_streets import scene_renderer

IMAGE_HEIGHT = 128
IMAGE_WIDTH = 256
# `tuning` is labelled like the others; it is for choosing hyperparameters so that
# `validation` stays untouched for the numbers that get reported.
SPLIT_SIZES = {"train": 2000, "validation": 300, "tuning": 200}
# The splits of each config. `dusk` has only the reported one: no `train`, so that nothing
# can train on it by accident, and no `tuning`, since nothing is chosen on an unseen domain
# (its `validation` is then as untouched as a test split would be).
CONFIG_SPLITS = {"synthetic": tuple(SPLIT_SIZES), "realistic": tuple(SPLIT_SIZES),
                 "dusk": ("validation",)}

# Example `index` of `split` in a config with base seed `b` is rendered from seed
# b + SPLIT_SEED_OFFSETS[split] + index. Splits are MAX_SPLIT_SIZE apart and the domains'
# base seeds DOMAIN_SEED_STRIDE apart, so no two (domain, split) pairs share a seed.
MAX_SPLIT_SIZE = 100_000
SPLIT_SEED_OFFSETS = {"train": 0, "validation": MAX_SPLIT_SIZE, "tuning": 2 * MAX_SPLIT_SIZE}
DOMAIN_SEED_STRIDE = 1_000_000
DOMAIN_BASE_SEEDS = {"synthetic": 0, "realistic": DOMAIN_SEED_STRIDE,
                     "dusk": 2 * DOMAIN_SEED_STRIDE}

# Level 1 of zlib: the noisy realistic images barely compress further, and a higher level
# would take most of the build time.
_PNG_COMPRESS_LEVEL = 1
# Scenes are rendered in up to this many worker processes (fewer on fewer cores).
MAX_WORKERS = 4
# Splits smaller than this are rendered in-process: starting workers would cost more.
_MIN_PARALLEL_EXAMPLES = 64
_CHUNK_SIZE = 16


@dataclasses.dataclass
class ProceduralStreetsConfig(tfds.core.BuilderConfig):
    """A domain of `procedural_streets`.

    Attributes:
      domain: one of `scene_renderer.DOMAINS`: how scenes look.
      seed: base seed of the config's scenes (see `example_seed`).
      splits: the config's splits, keys of SPLIT_SIZES.
    """

    domain: str = "synthetic"
    seed: int = 0
    splits: tuple = tuple(SPLIT_SIZES)


def example_seed(base_seed, split, index):
    """The scene seed of example `index` of `split` in a config with base seed `base_seed`.

    Args:
      base_seed: the config's `seed`.
      split: a key of SPLIT_SIZES.
      index: 0 <= index < MAX_SPLIT_SIZE.

    Returns:
      An int.

    Raises:
      ValueError: for an index outside its split's seed range.
    """
    if not 0 <= index < MAX_SPLIT_SIZE:
        raise ValueError(f"Example index {index} is outside [0, {MAX_SPLIT_SIZE}).")
    return base_seed + SPLIT_SEED_OFFSETS[split] + index


def encode_png(array):
    """PNG bytes of a uint8 [H, W, 3] or [H, W] array, with fast compression."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def render_example(domain, seed):
    """Renders one scene and returns its (image, label) as PNG bytes.

    Args:
      domain: one of `scene_renderer.DOMAINS`.
      seed: the scene seed.

    Returns:
      (image PNG, label PNG); the label PNG is single-channel trainIds.
    """
    image, label = scene_renderer.render_scene(seed, domain, IMAGE_HEIGHT, IMAGE_WIDTH)
    return encode_png(image), encode_png(label)


def _render_job(job):
    return render_example(*job)


def _worker_count():
    """Worker processes to render with: 0 means render in this process.

    Workers are forked, which is only safe here on Linux: the parent may have TensorFlow's
    threads running, and the children touch nothing but numpy and PIL.
    """
    if not sys.platform.startswith("linux"):
        return 0
    cores = len(os.sched_getaffinity(0))
    return min(cores, MAX_WORKERS) if cores > 1 else 0


def render_examples(domain, seeds):
    """Yields `render_example(domain, seed)` for each seed, in order.

    Rendering is CPU-bound numpy with many small operations, so it is spread over worker
    processes when there are spare cores; the output does not depend on how.

    Args:
      domain: one of `scene_renderer.DOMAINS`.
      seeds: a sequence of scene seeds.

    Yields:
      (image PNG, label PNG) per seed.
    """
    jobs = [(domain, seed) for seed in seeds]
    workers = _worker_count()
    if workers == 0 or len(jobs) < _MIN_PARALLEL_EXAMPLES:
        yield from map(_render_job, jobs)
        return
    with multiprocessing.get_context("fork").Pool(
            workers, initializer=_default_sigterm) as pool:
        yield from pool.imap(_render_job, jobs, chunksize=_CHUNK_SIZE)
        # Let the workers finish and exit, rather than the `with`'s terminate().
        pool.close()
        pool.join()


def _default_sigterm():
    """A forked worker's SIGTERM kills it, whatever handler the parent had.

    The parent may catch SIGTERM: once a MultiWorkerMirroredStrategy had started, forked
    workers inherited a handler that did not exit, and `Pool.terminate()` waited for them
    forever (seen with two workers on loopback).
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Builder(tfds.core.GeneratorBasedBuilder):
    """Procedural street scenes with Cityscapes trainId labels, in three domains."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    # TFDS would look for README.md under `gta_keras/datasets/...`, a folder that does not
    # exist: setup.py maps the package `gta_keras.datasets` onto the top-level `datasets/`.
    pkg_dir_path = epath.Path(__file__).parent
    BUILDER_CONFIGS = [
        ProceduralStreetsConfig(
            name="synthetic", domain="synthetic", seed=DOMAIN_BASE_SEEDS["synthetic"],
            splits=CONFIG_SPLITS["synthetic"],
            description="Flat, game-like colours with hard edges: the labelled source."),
        ProceduralStreetsConfig(
            name="realistic", domain="realistic", seed=DOMAIN_BASE_SEEDS["realistic"],
            splits=CONFIG_SPLITS["realistic"],
            description=("Textures, lighting, another palette, blur, sensor noise and "
                         "vignetting: the photograph-like target.")),
        ProceduralStreetsConfig(
            name="dusk", domain="dusk", seed=DOMAIN_BASE_SEEDS["dusk"],
            splits=CONFIG_SPLITS["dusk"],
            description=("Low sun or blue hour, lamps and lit windows, a third palette, "
                         "motion blur and low-light noise: an unseen domain, scored only "
                         "(validation split only; never trained or tuned on).")),
    ]

    def _info(self):
        return self.dataset_info_from_configs(
            description=(
                "Perspective street scenes (road, sidewalks, buildings, vegetation, poles "
                "with signs, fences, vehicles, people) with pixel labels in Cityscapes "
                "trainIds (255 void), rendered from seeds. The configs share the layout "
                "distribution and differ in appearance only."),
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(IMAGE_HEIGHT, IMAGE_WIDTH, 3)),
                "label": tfds.features.Image(shape=(IMAGE_HEIGHT, IMAGE_WIDTH, 1)),
                "image_id": tfds.features.Text(),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Everything is rendered here; nothing to download.
        return {split: self._generate_examples(split, SPLIT_SIZES[split])
                for split in self.builder_config.splits}

    def _generate_examples(self, split, num_examples):
        """Yields (key, example) for the first `num_examples` scenes of `split`."""
        config = self.builder_config
        seeds = [example_seed(config.seed, split, index) for index in range(num_examples)]
        pngs = render_examples(config.domain, seeds)
        for index, (image, label) in enumerate(pngs):
            image_id = f"{config.domain}/{split}/{index:05d}"
            # PNG bytes encoded by us, not by TFDS: the same format, a faster zlib level.
            yield image_id, {"image": image, "label": label, "image_id": image_id}
