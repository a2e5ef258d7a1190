"""Tests for the `procedural_streets` renderer and TFDS builder.

Plain pytest rather than `tfds.testing.DatasetBuilderTestCase`: the builder downloads
nothing, so there is no dummy data to point that harness at; the builds below shrink the
splits and write into `tmp_path` instead.
"""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from gta_keras import protocols
from gta_keras.datasets.procedural_streets import procedural_streets_dataset_builder as psb
from gta_keras.datasets.procedural_streets import scene_renderer as sr
from gta_keras.datasets.procedural_streets.scene_renderer import ids

# Classes every sample of a few scenes must show somewhere (the demo's core classes).
REQUIRED_CLASSES = (sr.ROAD, sr.SIDEWALK, sr.BUILDING, sr.VEGETATION, sr.SKY, sr.CAR,
                    sr.PERSON, sr.POLE, sr.TRAFFIC_SIGN, sr.FENCE)
SMALL_SPLITS = {"train": 5, "validation": 3, "tuning": 2}


def _labels(seeds, height=128, width=256):
    """Label maps of some seeds, from the layout alone (no shading needed)."""
    return [sr.rasterize(sr.sample_layout(seed), height, width).label for seed in seeds]


# === Constants and metadata ===


def test_split_sizes_and_image_size_are_the_documented_ones():
    assert psb.SPLIT_SIZES == {"train": 2000, "validation": 300, "tuning": 200}
    assert (psb.IMAGE_HEIGHT, psb.IMAGE_WIDTH) == (128, 256)
    assert str(psb.Builder.VERSION) == "1.0.0"
    assert [c.name for c in psb.Builder.BUILDER_CONFIGS] == ["synthetic", "realistic", "dusk"]
    assert [c.domain for c in psb.Builder.BUILDER_CONFIGS] == list(sr.DOMAINS)
    splits = {c.name: c.splits for c in psb.Builder.BUILDER_CONFIGS}
    assert splits == {"synthetic": ("train", "validation", "tuning"),
                      "realistic": ("train", "validation", "tuning"),
                      "dusk": ("validation",)}


def test_dusk_offers_nothing_to_train_or_tune_on():
    # The unseen domain is scored only: a `train` or `tuning` split would invite using it.
    config = next(c for c in psb.Builder.BUILDER_CONFIGS if c.name == "dusk")
    assert "train" not in config.splits and "tuning" not in config.splits


def test_renderer_ids_name_the_package_protocol_classes():
    named = {
        "road": sr.ROAD, "sidewalk": sr.SIDEWALK, "building": sr.BUILDING, "wall": sr.WALL,
        "fence": sr.FENCE, "pole": sr.POLE, "traffic light": sr.TRAFFIC_LIGHT,
        "traffic sign": sr.TRAFFIC_SIGN, "vegetation": sr.VEGETATION, "terrain": sr.TERRAIN,
        "sky": sr.SKY, "person": sr.PERSON, "rider": sr.RIDER, "car": sr.CAR,
        "truck": sr.TRUCK, "bus": sr.BUS, "bicycle": sr.BICYCLE,
    }
    for name, train_id in named.items():
        assert protocols.CITYSCAPES_CLASSES[train_id] == name
    assert sr.VOID == protocols.VOID_LABEL
    assert set(sr.RENDERED_TRAIN_IDS) <= set(range(protocols.NUM_CITYSCAPES_CLASSES))


def test_info_declares_the_features(tmp_path):
    info = tfds.builder("procedural_streets/synthetic", data_dir=tmp_path).info
    assert info.supervised_keys == ("image", "label")
    assert info.features["image"].shape == (128, 256, 3)
    assert info.features["label"].shape == (128, 256, 1)
    assert info.features["label"].dtype == np.uint8
    assert isinstance(info.features["image_id"], tfds.features.Text)


def test_seed_ranges_of_all_domain_split_pairs_are_disjoint():
    ranges = {}
    for config in psb.Builder.BUILDER_CONFIGS:
        for split in config.splits:
            size = psb.SPLIT_SIZES[split]
            first = psb.example_seed(config.seed, split, 0)
            last = psb.example_seed(config.seed, split, size - 1)
            assert last - first == size - 1
            ranges[config.name, split] = range(first, last + 1)
    pairs = list(ranges.items())
    for i, (key_a, seeds_a) in enumerate(pairs):
        for key_b, seeds_b in pairs[i + 1:]:
            overlap = set(seeds_a) & set(seeds_b)
            assert not overlap, (key_a, key_b)


def test_example_seed_rejects_indices_outside_the_split_range():
    with pytest.raises(ValueError):
        psb.example_seed(0, "train", psb.MAX_SPLIT_SIZE)
    with pytest.raises(ValueError):
        psb.example_seed(0, "train", -1)


# === Builds ===


@pytest.mark.parametrize("domain", sr.DOMAINS)
def test_build_has_the_split_counts_and_valid_examples(tmp_path, monkeypatch, domain):
    monkeypatch.setattr(psb, "SPLIT_SIZES", dict(SMALL_SPLITS))
    builder = tfds.builder(f"procedural_streets/{domain}", data_dir=tmp_path)
    builder.download_and_prepare()
    expected = {split: SMALL_SPLITS[split] for split in psb.CONFIG_SPLITS[domain]}
    assert {split: info.num_examples for split, info in builder.info.splits.items()} == expected
    for split, size in expected.items():
        examples = list(tfds.as_numpy(builder.as_dataset(split=split)))
        assert len(examples) == size
        ids = {ex["image_id"].decode() for ex in examples}
        assert ids == {f"{domain}/{split}/{i:05d}" for i in range(size)}
        for ex in examples:
            assert ex["image"].shape == (128, 256, 3) and ex["image"].dtype == np.uint8
            assert ex["label"].shape == (128, 256, 1) and ex["label"].dtype == np.uint8
            assert np.isin(ex["label"], sr.RENDERED_TRAIN_IDS).all()
    # Stored pixels are exactly what the renderer makes (PNG is lossless).
    example = next(ex for ex in tfds.as_numpy(builder.as_dataset(split="validation"))
                   if ex["image_id"].decode().endswith("/00001"))
    image, label = sr.render_scene(
        psb.example_seed(builder.builder_config.seed, "validation", 1), domain)
    np.testing.assert_array_equal(example["image"], image)
    np.testing.assert_array_equal(example["label"][..., 0], label)


def test_dusk_has_no_train_split_to_read(tmp_path, monkeypatch):
    monkeypatch.setattr(psb, "SPLIT_SIZES", dict(SMALL_SPLITS))
    builder = tfds.builder("procedural_streets/dusk", data_dir=tmp_path)
    builder.download_and_prepare()
    with pytest.raises(ValueError, match="train"):
        builder.as_dataset(split="train")


@pytest.mark.parametrize("domain", ["realistic", "dusk"])
def test_worker_processes_render_the_same_bytes_as_the_main_process(monkeypatch, domain):
    seeds = [3, 4, 5, 6]
    serial = [psb.render_example(domain, seed) for seed in seeds]
    monkeypatch.setattr(psb, "_MIN_PARALLEL_EXAMPLES", 0)
    monkeypatch.setattr(psb, "_worker_count", lambda: 2)
    assert list(psb.render_examples(domain, seeds)) == serial


# === Renderer ===


def test_labels_are_trainids_of_the_rendered_set():
    for label in _labels(range(8)):
        assert label.dtype == np.uint8 and label.shape == (128, 256)
        assert np.isin(label, sr.RENDERED_TRAIN_IDS).all()


def test_required_classes_appear_across_a_few_scenes():
    seen = set()
    for label in _labels(range(12)):
        seen |= set(np.unique(label).tolist())
    missing = [protocols.CITYSCAPES_CLASSES[c] for c in REQUIRED_CLASSES if c not in seen]
    assert not missing


def test_class_frequencies_are_street_like():
    counts = np.zeros(256)
    for label in _labels(range(40)):
        counts += np.bincount(label.ravel(), minlength=256)
    share = counts / counts.sum()
    # Large stuff classes.
    for c in (sr.ROAD, sr.BUILDING, sr.VEGETATION, sr.SKY):
        assert share[c] > 0.04, protocols.CITYSCAPES_CLASSES[c]
    assert share[sr.ROAD] == share.max()
    # Small things: present, but a small part of the image.
    for c in (sr.POLE, sr.TRAFFIC_SIGN, sr.PERSON):
        assert 0.0005 < share[c] < 0.02, protocols.CITYSCAPES_CLASSES[c]


@pytest.mark.parametrize("domain", sr.DOMAINS)
def test_render_scene_is_deterministic(domain):
    image_a, label_a = sr.render_scene(11, domain)
    image_b, label_b = sr.render_scene(11, domain)
    np.testing.assert_array_equal(image_a, image_b)
    np.testing.assert_array_equal(label_a, label_b)
    assert image_a.dtype == np.uint8 and image_a.shape == (128, 256, 3)


@pytest.mark.parametrize("domain", sr.DOMAINS)
def test_different_seeds_give_different_scenes(domain):
    image_a, label_a = sr.render_scene(1, domain)
    image_b, label_b = sr.render_scene(2, domain)
    assert not np.array_equal(label_a, label_b)
    assert not np.array_equal(image_a, image_b)


def test_layout_depends_on_the_seed_only():
    # Same seed, every domain: the same label map (and layout), different pixels.
    for seed in (0, 7, 123):
        renders = [sr.render_scene(seed, domain) for domain in sr.DOMAINS]
        for (image_a, label_a), (image_b, label_b) in zip(renders, renders[1:]):
            np.testing.assert_array_equal(label_a, label_b)
            assert not np.array_equal(image_a, image_b)
    assert sr.sample_layout(5) == sr.sample_layout(5)


def test_realistic_appearance_differs_meaningfully_from_synthetic():
    for seed in range(4):
        synthetic, label = sr.render_scene(seed, "synthetic")
        realistic, _ = sr.render_scene(seed, "realistic")
        difference = np.abs(synthetic.astype(np.int32) - realistic.astype(np.int32))
        assert difference.mean() > 25.0
        # Not just a global shift: the colour of the big classes moves by a lot.
        for c in (sr.ROAD, sr.BUILDING, sr.VEGETATION, sr.SKY):
            if (label == c).sum() > 200:
                gap = synthetic[label == c].mean(0) - realistic[label == c].mean(0)
                assert np.linalg.norm(gap) > 30.0, protocols.CITYSCAPES_CLASSES[c]


def _luma(image):
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def _row_noise(image, mask):
    """Noise sigma of an image region: the std of I[x] - (I[x-1] + I[x+1]) / 2 over pixels
    of `mask` whose row neighbours are in it too, / sqrt(1.5) (exact for white noise)."""
    inner = mask[:, 1:-1] & mask[:, :-2] & mask[:, 2:]
    x = image.astype(np.float64)
    residual = x[:, 1:-1] - 0.5 * (x[:, :-2] + x[:, 2:])
    return residual[inner].std() / np.sqrt(1.5)


def test_dusk_is_darker_bluer_and_noisier_than_realistic():
    # Dusk's validation seeds, the frames it is scored on.
    seeds = range(psb.example_seed(psb.DOMAIN_BASE_SEEDS["dusk"], "validation", 0),
                  psb.example_seed(psb.DOMAIN_BASE_SEEDS["dusk"], "validation", 12))
    luma, blue_minus_red, noise = {}, {}, {}
    for domain in ("realistic", "dusk"):
        frames = [sr.render_scene(seed, domain) for seed in seeds]
        luma[domain] = np.mean([_luma(image).mean() for image, _ in frames])
        blue_minus_red[domain] = np.mean(
            [image[..., 2].mean() - image[..., 0].mean() for image, _ in frames])
        noise[domain] = np.median([_row_noise(image, label == sr.SKY) for image, label in frames
                                   if (label == sr.SKY).sum() > 500])
    # Measured over all 300 of dusk's validation seeds: luma 91 -> 59, sky noise 4 -> 8.
    assert luma["dusk"] < 0.8 * luma["realistic"]
    assert blue_minus_red["dusk"] > blue_minus_red["realistic"]
    assert noise["dusk"] > 1.5 * noise["realistic"]


def test_dusk_appearance_differs_meaningfully_from_realistic():
    # Per class, the distance between the two domains' mean colours, averaged over frames
    # (one frame's dark asphalt can look alike in both; measured means: road 25, building
    # 57, vegetation 45, sky 150).
    gaps = {c: [] for c in (sr.ROAD, sr.BUILDING, sr.VEGETATION, sr.SKY)}
    for seed in range(8):
        realistic, label = sr.render_scene(seed, "realistic")
        dusk, _ = sr.render_scene(seed, "dusk")
        for c, values in gaps.items():
            if (label == c).sum() > 200:
                values.append(np.linalg.norm(realistic[label == c].mean(0)
                                             - dusk[label == c].mean(0)))
    for c, values in gaps.items():
        assert np.mean(values) > 18.0, protocols.CITYSCAPES_CLASSES[c]
    assert np.mean(gaps[sr.SKY]) > 60.0


def test_dusk_sky_is_warmer_at_the_horizon_than_at_the_top():
    warmer = []
    for seed in range(8):
        image, label = sr.render_scene(seed, "dusk")
        rows = np.nonzero((label == sr.SKY).sum(axis=1) > 20)[0]
        if len(rows) < 6:
            continue
        red_minus_blue = [(image[r][label[r] == sr.SKY, 0].astype(float)
                           - image[r][label[r] == sr.SKY, 2]).mean() for r in rows]
        warmer.append(np.mean(red_minus_blue[-3:]) > np.mean(red_minus_blue[:3]))
    assert len(warmer) >= 4 and np.mean(warmer) >= 0.75


def test_dusk_lamps_outshine_their_surroundings():
    # Headlights, street lamps and traffic lights keep their own light in the dark: their
    # brightness relative to the frame's is well above what painted lamps get in daylight
    # (measured medians: realistic 1.7, dusk 2.7).
    ratios = {"realistic": [], "dusk": []}
    for seed in range(8):
        layout = sr.sample_layout(seed)
        raster = sr.rasterize(layout, 128, 256)
        lamps = raster.part == ids.PART_LIGHT
        if lamps.sum() < 4:
            continue
        for domain, values in ratios.items():
            image = _luma(sr.shade(raster, layout, domain, seed))
            values.append(image[lamps].mean() / image.mean())
    assert len(ratios["dusk"]) >= 4
    assert np.median(ratios["dusk"]) > max(2.2, np.median(ratios["realistic"]) + 0.5)


def test_synthetic_is_flat_and_realistic_is_textured():
    synthetic, label = sr.render_scene(3, "synthetic")
    realistic, _ = sr.render_scene(3, "realistic")
    road = label == sr.ROAD
    # Flat shading: few distinct road colours (markings, kerbs); a photo has many.
    distinct = lambda image: len(np.unique(image[road], axis=0))  # noqa: E731
    assert distinct(synthetic) <= 8
    assert distinct(realistic) > 200


def test_rendering_other_sizes_keeps_the_layout():
    _, small = sr.render_scene(9, "synthetic", height=64, width=128)
    _, large = sr.render_scene(9, "synthetic", height=128, width=256)
    assert small.shape == (64, 128)
    # Nearest-neighbour downsampling of the large map agrees on most pixels.
    assert (large[::2, ::2] == small).mean() > 0.9


def test_unknown_domain_is_rejected():
    with pytest.raises(ValueError):
        sr.render_scene(0, "photoreal")


def test_colorize_labels_uses_cityscapes_colours():
    label = np.array([[sr.ROAD, sr.SKY, sr.VOID]], np.uint8)
    colours = sr.colorize_labels(label)
    assert colours.shape == (1, 3, 3)
    assert colours[0, 0].tolist() == [128, 64, 128]
    assert colours[0, 1].tolist() == [70, 130, 180]
    assert colours[0, 2].tolist() == [0, 0, 0]
