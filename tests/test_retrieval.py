"""Cross-domain retrieval (paper Section 5.4): the metrics on descriptors whose answer is
known, the protocol's checks, the evaluated checkpoint, and the command on tiny runs."""

import itertools
import json
import os

import gin
import numpy as np
import pytest

from gta_keras import checkpoints
from gta_keras import configurables
from gta_keras import experiment
from gta_keras import retrieval
from gta_keras import runs
from gta_keras.data import pipeline
from tests import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE = os.path.join(ROOT, "gin", "smoke.gin")


# ---------------------------------------------------------------------------------------
# Metrics.


def _separated(rng, count, dims, first):
    """Positive descriptors living on half of the coordinates: cosine 0 across halves."""
    x = np.zeros((count, 2 * dims))
    x[:, first * dims:(first + 1) * dims] = rng.uniform(0.1, 1.0, (count, dims))
    return x


def test_identical_domains_retrieve_the_other_domain_half_the_time():
    rng = np.random.default_rng(0)
    n_pool, n_query, k_max = 400, 300, 40

    def draw(n):
        return rng.normal(size=(n, 16))

    result = retrieval.retrieve(draw(n_query), draw(n_query), draw(n_pool), draw(n_pool),
                                k_max)
    k = np.arange(1, k_max + 1)
    # A query's count among k of a balanced pool is about Binomial(k, 1/2): std sqrt(k)/2
    # per query; 5 standard errors of the mean over the queries.
    tolerance = 5 * np.sqrt(k) / 2 / np.sqrt(n_query)
    for key in ("a_k", "b_k"):
        assert np.all(np.abs(np.array(result[key]) - k / 2) < tolerance), key
        assert result["chance"][key] == pytest.approx(k / 2)
    chance = retrieval.chance_average_precision(n_pool, 2 * n_pool)
    assert chance == pytest.approx(0.5, abs=0.01)
    assert result["map_source_to_target"] == pytest.approx(chance, abs=0.02)
    assert result["map_target_to_source"] == pytest.approx(chance, abs=0.02)


def test_separated_domains_retrieve_nothing_of_the_other_and_map_is_the_floor():
    rng = np.random.default_rng(1)
    n_pool, n_query = 30, 20
    result = retrieval.retrieve(_separated(rng, n_query, 8, 0), _separated(rng, n_query, 8, 1),
                                _separated(rng, n_pool, 8, 0), _separated(rng, n_pool, 8, 1),
                                k_max=n_pool)
    assert result["a_k"] == [0.0] * n_pool
    assert result["b_k"] == [0.0] * n_pool
    # Every relevant item after all n_pool others: AP = mean_j j / (n_pool + j).
    floor = np.mean([j / (n_pool + j) for j in range(1, n_pool + 1)])
    assert result["map_source_to_target"] == pytest.approx(floor, abs=1e-12)
    assert result["map_target_to_source"] == pytest.approx(floor, abs=1e-12)
    assert result["floor_map"]["map_source_to_target"] == pytest.approx(floor)
    assert result["sizes"] == {"pool_source": 30, "pool_target": 30, "queries_source": 20,
                               "queries_target": 20}


def _at_angle(*degrees):
    radians = np.deg2rad(degrees)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


def test_a_hand_computed_example():
    # Pool: source at 0° and 90°, target at 30° and 180°.
    # Source query at 10°: s 0°, t 30°, s 90°, t 180° -> target at ranks 2, 4: AP 1/2.
    # Source query at 200°: t 180°, s 90°, s 0°, t 30° -> ranks 1, 4: AP (1 + 2/4) / 2.
    # Target query at 100°: s 90°, t 30°, t 180°, s 0° -> source at ranks 1, 4: AP 3/4.
    result = retrieval.retrieve(_at_angle(10, 200), _at_angle(100), _at_angle(0, 90),
                                _at_angle(30, 180), k_max=4)
    assert result["a_k"] == [0.5, 1.0, 1.0, 2.0]
    assert result["b_k"] == [1.0, 1.0, 1.0, 2.0]
    assert result["map_source_to_target"] == pytest.approx((0.5 + 0.75) / 2)
    assert result["map_target_to_source"] == pytest.approx(0.75)
    assert result["chance"]["a_k"] == [0.5, 1.0, 1.5, 2.0]


def test_chance_average_precision_is_the_mean_over_every_ranking():
    for n, r in ((5, 2), (6, 3), (4, 1), (3, 3)):
        rankings = [[i < r for i in order] for order in itertools.permutations(range(n))]
        exact = retrieval.average_precisions(np.array(rankings)).mean()
        assert retrieval.chance_average_precision(r, n) == pytest.approx(exact), (n, r)
    assert retrieval.floor_average_precision(2, 4) == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_zero_descriptors_rank_without_nan_and_ties_favour_no_domain():
    similarity = retrieval.cosine_similarity(np.zeros((1, 4)), np.ones((3, 4)))
    assert similarity.tolist() == [[0.0, 0.0, 0.0]]
    # All 100 pool items tie for a zero query: the order is the tie-break's, not the pool's
    # (which would put all 50 source items first).
    result = retrieval.retrieve(np.zeros((1, 4)), np.zeros((1, 4)), np.ones((50, 4)),
                                np.ones((50, 4)), k_max=20)
    assert 0 < result["a_k"][-1] < 20 and 0 < result["b_k"][-1] < 20


# ---------------------------------------------------------------------------------------
# The protocol's sizes and sets.


def test_layout_pool_first_then_queries():
    assert retrieval.layout(2000, 1000, 1000) == ((0, 1000), (1000, 2000))
    assert retrieval.layout(2000, 500, 300, query_start=1500) == ((0, 500), (1500, 1800))
    assert retrieval.layout(2000, 1000, 200, same_split=False,
                            query_split_size=200) == ((0, 1000), (0, 200))
    assert retrieval.slice_spec("train", 1000, 2000) == "train[1000:2000]"


def test_sizes_bigger_than_the_split_name_the_sizes_and_the_fix():
    with pytest.raises(retrieval.ProtocolError,
                       match=r"(?s)target queries are images 1500\.\.2499 but the split holds "
                             r"2000 \(pool 1500 \+ queries 1000.*--pool_size or --query_size"):
        retrieval.layout(2000, 1500, 1000, domain="target")
    with pytest.raises(retrieval.ProtocolError, match="needs 2500 images but its split holds "
                                                      "2000: lower --pool_size"):
        retrieval.layout(2000, 2500, 10)
    with pytest.raises(retrieval.ProtocolError, match="split holds 300"):
        retrieval.layout(2000, 1000, 500, same_split=False, query_split_size=300)
    with pytest.raises(retrieval.ProtocolError, match="at least one image"):
        retrieval.layout(2000, 0, 10)


def test_queries_overlapping_the_pool_are_refused():
    with pytest.raises(retrieval.ProtocolError,
                       match=r"100 source images are both queries and in the pool \(indices "
                             r"900, 901, 902, 903, 904, \.\.\.\).*--query_start"):
        retrieval.layout(2000, 1000, 500, query_start=900)
    with pytest.raises(retrieval.ProtocolError, match=r"1 target images .*indices 3\)"):
        retrieval.check_disjoint([1, 2, 3], [3, 4], "target")
    retrieval.check_disjoint([1, 2, 3], [4, 5])  # Disjoint: no error.


def test_k_max_and_layers_are_checked():
    with pytest.raises(retrieval.ProtocolError, match="k_max = 5 must be between 1 and the "
                                                      "pool's 4"):
        retrieval.retrieve(np.ones((1, 2)), np.ones((1, 2)), np.ones((2, 2)), np.ones((2, 2)),
                           k_max=5)
    with pytest.raises(retrieval.ProtocolError, match="Unknown layer 'fc8'"):
        retrieval.check_layer("fc8")
    with pytest.raises(retrieval.ProtocolError, match="needs a run with a generator"):
        retrieval.check_layer("fc7", after_generator=True, has_generator=False)


# ---------------------------------------------------------------------------------------
# Tiny runs: the evaluated checkpoint, descriptors, and the command.


@pytest.fixture(scope="module")
def script():
    return cli.import_script("scripts/retrieval.py")


def _make_run(workdir, method, data_dir, average_offset=None):
    """A smoke-sized run folder as training leaves it, without training: the operative
    config, a checkpoint at step 0 and, with other weights, one at step 3; and a
    selection record that says step 0 was evaluated. Returns step 0's fc7 bias.

    `data_dir` holds the demo pair (the session's `demo_data_dir`), which the training
    dataset reads as training would.

    With `average_offset`, the run keeps a moving average of F and C whose fc7 bias is
    the weights' plus that offset."""
    gin.clear_config()
    bindings = [f"build_model.method = '{method}'"]
    if average_offset is not None:
        bindings.append("compile_model.segmenter_ema_decay = 0.9")
    configurables.parse_gin([SMOKE], bindings)
    # As training does: its settings in the operative config.
    pipeline.make_train_dataset(data_dir=data_dir)
    model = experiment.build_compiled_model(skip_imagenet_weights=True)
    bias = model.embedder.get_layer("fc7").bias
    if average_offset is not None:
        for variable, shadow in zip(model.player_variables("segmenter"),
                                    model.segmenter_average.shadows, strict=True):
            if variable.path == bias.path:
                shadow.assign(variable + average_offset)
    checkpointer = checkpoints.Checkpointer(model, checkpoints.checkpoint_directory(workdir))
    checkpointer.save()
    evaluated = bias.numpy().copy()
    bias.assign(evaluated + 1.0)
    model.f_optimizer.iterations.assign(3)
    checkpointer.save()
    with open(runs.operative_config_path(workdir), "w") as f:
        # Training's own settings; `train` itself is not called here.
        f.write(gin.operative_config_str() + "\ntrain.seed = 4\n")
    with open(runs.selection_path(workdir), "w") as f:
        json.dump({"rule": "best", "selected_step": 0, "scores": {"0": 0.2, "3": 0.1},
                   "dataset": "procedural_streets/synthetic:validation", "oracle": False}, f)
    gin.clear_config()
    return evaluated


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, demo_data_dir):
    root = tmp_path_factory.mktemp("retrieval_runs")
    made = {}
    for method in ("source_only", "lsd"):
        workdir = str(root / f"{method}_seed4")
        made[method] = (workdir, _make_run(workdir, method, demo_data_dir))
    return made


def test_the_evaluated_checkpoint_is_restored_not_the_newest(script, tiny_runs):
    workdir, evaluated = tiny_runs["lsd"]
    model, info = script.load_run(workdir)
    assert info["checkpoint_step"] == 0
    np.testing.assert_array_equal(model.embedder.get_layer("fc7").bias.numpy(), evaluated)
    assert info["checkpoint_selection"] == {
        "rule": "best", "selected_step": 0, "oracle": False,
        "dataset": "procedural_streets/synthetic:validation"}
    assert (info["method"], info["seed"]) == ("lsd", 4)
    assert (info["source"], info["target"]) == ("procedural_streets/synthetic",
                                                "procedural_streets/realistic")
    assert info["eval_size"] == [32, 64]


def test_a_run_never_evaluated_uses_its_newest_and_a_lost_step_is_an_error(
        script, tiny_runs, tmp_path):
    workdir, _ = tiny_runs["source_only"]
    selection = runs.selection_path(workdir)
    with open(selection) as f:
        record = f.read()
    try:
        os.remove(selection)
        _, info = script.load_run(workdir)
        assert info["checkpoint_step"] == 3 and info["checkpoint_selection"]["rule"] == "last"
        with open(selection, "w") as f:
            json.dump({"rule": "best", "selected_step": 1}, f)
        with pytest.raises(checkpoints.CheckpointNotFoundError,
                           match=r"step 1 was evaluated, but .* keeps only steps \[0, 3\]"):
            script.load_run(workdir)
    finally:
        with open(selection, "w") as f:
            f.write(record)
    with pytest.raises(FileNotFoundError, match="operative_config.gin does not exist"):
        script.load_run(str(tmp_path))


def test_descriptors_of_each_layer_and_of_g(script, tiny_runs):
    model, _ = script.load_run(tiny_runs["lsd"][0])
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 64, 3)).astype("float32")
    widths = {"fc7": 16, "pool4": 32, "pool3": 16, "image": 3}  # smoke.gin's F (1/16 wide)
    for layer, width in widths.items():
        for after in (False, True):
            assert retrieval.descriptors(model, images, layer, after).shape == (2, width)
    colour = retrieval.descriptors(model, images, "image").numpy()
    np.testing.assert_allclose(colour, images.mean(axis=(1, 2)) / 255.0, rtol=1e-5)
    reconstruction = model.generator(model.embedder(images[..., ::-1] - np.array(
        (103.939, 116.779, 123.68), np.float32)), training=False).numpy()
    np.testing.assert_allclose(retrieval.descriptors(model, images, "image", True).numpy(),
                               reconstruction.mean(axis=(1, 2)), rtol=1e-4)


def test_sizes_that_do_not_fit_the_demo_splits_stop_before_any_descriptor(
        script, tiny_runs, demo_data_dir):
    with pytest.raises(retrieval.ProtocolError, match="split holds 2000"):
        script.run([tiny_runs["lsd"][0]], pool_size=1500, query_size=1000,
                   data_dir=demo_data_dir)
    with pytest.raises(retrieval.ProtocolError, match="needs a run with a generator"):
        script.run([tiny_runs["source_only"][0]], after_generator=True, pool_size=2,
                   query_size=2, k_max=2, data_dir=demo_data_dir)


def test_group_summary_mean_and_std(script):
    records = [{"method": "lsd", "seed": s, "workdir": f"r/lsd_seed{s}", "a_k": [a, 2 * a],
                "b_k": [0, a], "map_source_to_target": a, "map_target_to_source": 0.5}
               for s, a in ((0, 0.2), (1, 0.4))]
    records.append(dict(records[0], method="source_only", workdir="r/so"))
    summary = script.summarize_methods(script.label_runs(records))
    assert list(summary) == ["lsd", "source_only"]
    assert summary["lsd"]["a_k"]["mean"] == pytest.approx([0.3, 0.6])
    assert summary["lsd"]["a_k"]["std"] == pytest.approx([0.1, 0.2])
    assert summary["lsd"]["num_runs"] == 2
    assert [r["label"] for r in records] == ["lsd seed 0", "lsd seed 1", "source_only seed 0"]


@pytest.mark.slow
def test_f_holds_the_weights_evaluation_scored(script, tmp_path, monkeypatch,
                                               demo_data_dir):
    """A run with a moving average: F's descriptors come from the average, as evaluation
    scores it; after G, from the training weights G was trained against."""
    workdir = str(tmp_path / "lsd_seed4")
    evaluated = _make_run(workdir, "lsd", demo_data_dir, average_offset=5.0)
    seen = []

    def descriptors(model, *unused_args):
        seen.append(model.embedder.get_layer("fc7").bias.numpy().copy())
        return np.random.default_rng(len(seen)).normal(size=(4, 3)).astype("float32")

    monkeypatch.setattr(retrieval, "split_descriptors", descriptors)
    monkeypatch.setattr(script, "plan", lambda info, **unused: {
        domain: {"dataset": "procedural_streets/realistic", "pool": "train[:4]",
                 "queries": "train[4:8]"} for domain in ("source", "target")})
    for after_generator, weights, offset in ((False, "ema", 5.0), (True, "raw", 0.0)):
        seen.clear()
        record = script.run_one(workdir, after_generator=after_generator, k_max=2)
        assert record["weights"] == weights
        assert len(seen) == 4
        for bias in seen:
            np.testing.assert_allclose(bias, evaluated + offset, rtol=1e-6)


def test_the_command_on_two_tiny_runs(tiny_runs, tmp_path, demo_data_dir):
    dirs = [tiny_runs["source_only"][0], tiny_runs["lsd"][0]]
    result = cli.run_script("scripts/retrieval.py", f"--workdir={','.join(dirs)}",
                            f"--data_dir={demo_data_dir}",
                            "--pool_size=6", "--query_size=4", "--query_split=validation",
                            "--k_max=8", f"--output_dir={tmp_path}", "--group_by_method")
    cli.assert_ok(result)
    summary = json.loads((tmp_path / "retrieval_fc7.json").read_text())
    assert (summary["layer"], summary["after_generator"]) == ("fc7", False)
    assert summary["sizes"] == {"pool_source": 6, "pool_target": 6, "queries_source": 4,
                                "queries_target": 4}
    assert "without defining it" in summary["map_definition"]
    assert summary["machine"]["cpu_model"]
    assert list(summary["methods"]) == ["source_only", "lsd"]
    for record, method in zip(summary["runs"], ("source_only", "lsd")):
        assert record["method"] == method and record["label"] == f"{method} seed 4"
        assert record["checkpoint_step"] == 0
        assert len(record["a_k"]) == len(record["b_k"]) == 8
        assert all(0 <= a <= k + 1 for k, a in enumerate(record["a_k"]))
        assert 0 < record["map_source_to_target"] <= 1
        assert record["descriptor_dims"] == 16
        assert record["weights"] == "raw"  # The runs keep no moving average.
        assert record["slices"]["target"] == {"dataset": "procedural_streets/realistic",
                                              "pool": "train[0:6]",
                                              "queries": "validation[0:4]"}
    png = tmp_path / "retrieval_fc7.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10000
    assert "identical domains" in result.stdout and "Wrote" in result.stdout
