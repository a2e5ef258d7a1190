"""Cross-domain retrieval (paper Section 5.4, Figure 4): do F's features mix the domains?

The protocol. A pool X of N_src source and N_tgt target images, and two query sets, Q_S of
source and Q_T of target images, both disjoint from X. Each image becomes one descriptor:
a layer of F average-pooled over space (fc7 in the paper: 4096-d). Each query ranks the
whole pool by cosine similarity, most similar first.

- |A_k|: the mean, over the source queries, of the number of TARGET items among the k
  nearest; |B_k|: the mean, over the target queries, of the number of SOURCE items among
  the k nearest. If the two domains' descriptors were drawn from one distribution, a
  query's neighbours would be the pool's domains in proportion: |A_k| = k N_tgt / N and
  |B_k| = k N_src / N (k / 2 for a balanced pool); if the domains were apart, 0.
- mAP. The paper reports mAP for both directions but does not define it; here: for a
  source query the relevant items are the pool's target items (for a target query, its
  source items), ranked in the whole pool; a query's average precision is the mean, over
  its relevant items, of the precision at each one's rank (the fraction of the items up
  to and including it that are relevant); mAP is the mean over the queries. It rewards
  the same thing as |A_k| and |B_k|, over every k at once. `chance_average_precision` is
  its value for a random ranking (about N_other / N), `floor_average_precision` its value
  when every item of the query's own domain comes first (domains apart).

Ties in similarity (e.g. two all-zero descriptors) are broken by a fixed random order of
the pool, so that neither domain wins ties by where it sits in the pool.

The metrics are plain numpy on descriptor arrays; `split_descriptors` makes the arrays
from a trained model and a TFDS split slice, with the package's preprocessing.
"""

import numpy as np
import tensorflow as tf

from gta_keras.data import pipeline
from gta_keras.data import preprocessing
from gta_keras.models import embedder as embedder_lib

# F's outputs (`embedder.build_embedder`), and "image": the pixels themselves (RGB in
# [0, 1], as D sees them), the reference point for the layers and for G's output.
LAYERS = ("fc7", "pool4", "pool3", "image")
# Seed of the pool's random order that breaks ties in similarity.
TIE_BREAK_SEED = 0


class ProtocolError(ValueError):
    """Sizes or index ranges that the retrieval protocol cannot use (the message says why
    and what to change)."""


# ---------------------------------------------------------------------------------------
# Which images: pool and queries of one domain.


def layout(split_size, pool_size, query_size, query_start=None, same_split=True,
           query_split_size=None, domain="source"):
    """Index ranges of one domain's pool and queries, checked.

    Args:
      split_size: images in the split the pool is taken from.
      pool_size: N_src or N_tgt: the pool takes the split's first `pool_size` images.
      query_size: |Q_S| or |Q_T|.
      query_start: index of the first query in its split; None for right after the pool
        (same split) or 0 (another split).
      same_split: whether the queries come from the pool's split.
      query_split_size: images in the queries' split when it is another one.
      domain: "source" or "target", for the messages.

    Returns:
      ((pool start, pool stop), (query start, query stop)).

    Raises:
      ProtocolError: a size below 1, more images than the split holds, or queries that
        overlap the pool; the message names the sizes and what to change.
    """
    if pool_size < 1 or query_size < 1:
        raise ProtocolError(f"The {domain} pool ({pool_size}) and queries ({query_size}) "
                            "need at least one image each.")
    if query_start is None:
        query_start = pool_size if same_split else 0
    pool = (0, pool_size)
    queries = (query_start, query_start + query_size)
    if pool_size > split_size:
        raise ProtocolError(
            f"The {domain} pool needs {pool_size} images but its split holds {split_size}: "
            f"lower --pool_size to at most {split_size}.")
    available = split_size if same_split else query_split_size
    if queries[1] > available:
        where = "after the pool in the pool's split" if same_split else "in the query split"
        raise ProtocolError(
            f"The {domain} queries are images {queries[0]}..{queries[1] - 1} but the split "
            f"holds {available} (pool {pool_size} + queries {query_size} {where}): lower "
            f"--pool_size or --query_size so that they fit, or take the queries from "
            "another split (--query_split).")
    if same_split:
        check_disjoint(range(*pool), range(*queries), domain)
    return pool, queries


def check_disjoint(pool_indices, query_indices, domain="source"):
    """Raises ProtocolError when a query image is also in the pool (it would find itself).

    Args:
      pool_indices: indices, in one split, of the domain's pool images.
      query_indices: indices, in the same split, of its query images.
      domain: "source" or "target", for the message.
    """
    shared = sorted(set(pool_indices) & set(query_indices))
    if shared:
        shown = ", ".join(map(str, shared[:5])) + (", ..." if len(shared) > 5 else "")
        raise ProtocolError(
            f"{len(shared)} {domain} images are both queries and in the pool (indices "
            f"{shown}): a query would retrieve itself. Start the queries after the pool "
            "(--query_start at least --pool_size) or take them from another split.")


def slice_spec(split, start, stop):
    """TFDS's slice of `split`, e.g. "train[1000:2000]"."""
    return f"{split}[{start}:{stop}]"


# ---------------------------------------------------------------------------------------
# Metrics on descriptors (numpy).


def cosine_similarity(queries, pool):
    """Cosine similarity of every query to every pool item.

    Args:
      queries: float [Q, D].
      pool: float [N, D].

    Returns:
      float64 [Q, N]. An all-zero descriptor (e.g. a layer whose ReLUs are all off) has
      similarity 0 to everything, rather than NaN.
    """
    return _unit(queries) @ _unit(pool).T


def _unit(vectors):
    vectors = np.asarray(vectors, np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def rank(similarity, seed=TIE_BREAK_SEED):
    """Pool indices per query, most similar first; ties in a fixed random order.

    Args:
      similarity: [Q, N].
      seed: seeds the pool's random order that breaks ties.

    Returns:
      int [Q, N].
    """
    similarity = np.asarray(similarity)
    tie_break = np.random.default_rng(seed).permutation(similarity.shape[1])
    # lexsort sorts by its last key first: similarity (descending), then the random order.
    return np.lexsort((np.broadcast_to(tie_break, similarity.shape), -similarity), axis=-1)


def cross_domain_counts(ranked_is_other, k_max):
    """|A_k| (or |B_k|) for k = 1 .. k_max.

    Args:
      ranked_is_other: bool [Q, N]: whether each query's i-th nearest pool item is of the
        other domain.
      k_max: the largest k.

    Returns:
      float [k_max]: entry k - 1 is the mean, over queries, of other-domain items among
      the k nearest.
    """
    return np.cumsum(np.asarray(ranked_is_other)[:, :k_max], axis=1).mean(axis=0)


def average_precisions(ranked_is_relevant):
    """Each query's average precision over its full ranked list (see the module doc).

    Args:
      ranked_is_relevant: bool [Q, N]: whether each query's i-th ranked item is relevant;
        every row holds at least one relevant item.

    Returns:
      float [Q].
    """
    relevant = np.asarray(ranked_is_relevant, bool)
    hits = np.cumsum(relevant, axis=1)
    precision = hits / np.arange(1, relevant.shape[1] + 1)
    return (precision * relevant).sum(axis=1) / relevant.sum(axis=1)


def chance_average_precision(num_relevant, num_items):
    """The expected average precision of a uniformly random ranking.

    With R relevant among N items: an item at rank i has precision (1 + (R - 1)(i - 1) /
    (N - 1)) / i in expectation, given it is relevant; averaging over i = 1 .. N gives
    (R - 1) / (N - 1) + H_N (N - R) / (N (N - 1)), with H_N the N-th harmonic number.
    """
    r, n = num_relevant, num_items
    if n == 1:
        return 1.0
    harmonic = np.sum(1.0 / np.arange(1, n + 1))
    return (r - 1) / (n - 1) + harmonic * (n - r) / (n * (n - 1))


def floor_average_precision(num_relevant, num_items):
    """The average precision when all N - R irrelevant items come first: the least it can
    be, sum over j = 1 .. R of j / (N - R + j), divided by R."""
    j = np.arange(1, num_relevant + 1)
    return float(np.mean(j / (num_items - num_relevant + j)))


def retrieve(source_queries, target_queries, source_pool, target_pool, k_max,
             seed=TIE_BREAK_SEED):
    """Cross-domain retrieval on descriptors: |A_k|, |B_k| and mAP both ways.

    Args:
      source_queries: Q_S's descriptors [|Q_S|, D].
      target_queries: Q_T's descriptors [|Q_T|, D].
      source_pool: the pool's source descriptors [N_src, D].
      target_pool: the pool's target descriptors [N_tgt, D].
      k_max: the largest k, at most N_src + N_tgt.
      seed: seeds the tie-breaking order (`rank`).

    Returns:
      A dict: "a_k" and "b_k" (lists, entry k - 1 for k), "map_source_to_target" (source
      queries, target items relevant) and "map_target_to_source", "chance" (each of those
      for identically distributed domains: k N_other / N and
      `chance_average_precision`), "floor_map" (`floor_average_precision` both ways),
      "sizes" and "k_max".

    Raises:
      ProtocolError: k_max outside 1 .. N, or an empty set.
    """
    sizes = {"pool_source": len(source_pool), "pool_target": len(target_pool),
             "queries_source": len(source_queries), "queries_target": len(target_queries)}
    if min(sizes.values()) < 1:
        raise ProtocolError(f"Every set needs at least one descriptor: {sizes}.")
    pool = np.concatenate([source_pool, target_pool])
    pool_is_target = np.arange(len(pool)) >= len(source_pool)
    n = len(pool)
    if not 1 <= k_max <= n:
        raise ProtocolError(f"k_max = {k_max} must be between 1 and the pool's {n} images.")
    # Source queries look for target items, target queries for source items.
    other_s = pool_is_target[rank(cosine_similarity(source_queries, pool), seed)]
    other_t = ~pool_is_target[rank(cosine_similarity(target_queries, pool), seed)]
    n_src, n_tgt = sizes["pool_source"], sizes["pool_target"]
    k = np.arange(1, k_max + 1)
    return {
        "a_k": cross_domain_counts(other_s, k_max).tolist(),
        "b_k": cross_domain_counts(other_t, k_max).tolist(),
        "map_source_to_target": float(average_precisions(other_s).mean()),
        "map_target_to_source": float(average_precisions(other_t).mean()),
        "chance": {
            "a_k": (k * n_tgt / n).tolist(),
            "b_k": (k * n_src / n).tolist(),
            "map_source_to_target": float(chance_average_precision(n_tgt, n)),
            "map_target_to_source": float(chance_average_precision(n_src, n)),
        },
        "floor_map": {
            "map_source_to_target": floor_average_precision(n_tgt, n),
            "map_target_to_source": floor_average_precision(n_src, n),
        },
        "sizes": sizes,
        "k_max": int(k_max),
    }


# ---------------------------------------------------------------------------------------
# Descriptors from a trained model.


def check_layer(layer, after_generator=False, has_generator=True):
    """Raises ProtocolError for an unknown layer, or `after_generator` without G."""
    if layer not in LAYERS:
        raise ProtocolError(f"Unknown layer {layer!r}; use one of {', '.join(LAYERS)}.")
    if after_generator and not has_generator:
        raise ProtocolError("after_generator needs a run with a generator G (lsd, "
                            "global_d, no_aux); this run has none.")


def descriptors(model, images, layer="fc7", after_generator=False):
    """One descriptor per image: `layer` average-pooled over space.

    Args:
      model: a `DomainAdaptationModel` (F, and G for `after_generator`).
      images: float [B, H, W, 3] RGB in [0, 255], at the size F runs at (sides divisible
        by 32).
      layer: one of `LAYERS`: "fc7", "pool4", "pool3" (F's outputs, through the package's
        F preprocessing) or "image" (the pixels as D sees them, RGB in [0, 1]: the
        descriptor is the mean colour).
      after_generator: describe G(F(x)), G's reconstruction, instead of x: with "image"
        the reconstruction's mean colour, with a layer of F that layer of F on the
        reconstruction.

    Returns:
      float32 tensor [B, channels].
    """
    check_layer(layer, after_generator, model.generator is not None)
    images = tf.cast(images, tf.float32)
    if after_generator:
        features = model.embedder(preprocessing.embedder_input(images), training=False)
        images = model.generator(features, training=False) * 255.0  # [0, 1] -> [0, 255]
    if layer == "image":
        return tf.reduce_mean(preprocessing.unit_range(images), axis=[1, 2])
    features = model.embedder(preprocessing.embedder_input(images), training=False)
    return tf.reduce_mean(features[layer], axis=[1, 2])


def split_images(name, split, size=None, batch_size=50, data_dir=None, manual_dir=None):
    """Batches of one split (or slice) of a TFDS dataset's images, at the size F runs at.

    Args:
      name: TFDS name, e.g. "procedural_streets/synthetic".
      split: split or slice, e.g. "train[:1000]".
      size: (height, width) the images are resized to (bilinear), the run's eval size;
        None for each image's own size rounded to a multiple of 32 (then one per batch,
        since sizes may differ), as evaluation does.
      batch_size: images per batch.
      data_dir: TFDS data dir.
      manual_dir: folder of manual downloads.

    Returns:
      A `tf.data.Dataset` of float32 [B, h, w, 3] RGB in [0, 255]; labels are not read.
    """
    dataset = pipeline.load_split(name, split, data_dir=data_dir, manual_dir=manual_dir)

    def resize(image, *unused_label):
        target = size or preprocessing.round_to_multiple(tf.shape(image)[:2],
                                                          embedder_lib.OUTPUT_STRIDE)
        return preprocessing.resize_images(image, target)

    dataset = dataset.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size if size else 1).prefetch(tf.data.AUTOTUNE)


def split_descriptors(model, name, split, layer="fc7", after_generator=False, size=None,
                      batch_size=50, data_dir=None, manual_dir=None):
    """`descriptors` of every image of a split slice, as a numpy array [num images, D]."""
    check_layer(layer, after_generator, model.generator is not None)
    parts = [descriptors(model, images, layer, after_generator).numpy()
             for images in split_images(name, split, size, batch_size, data_dir,
                                        manual_dir)]
    if not parts:
        raise ProtocolError(f"{name} {split} holds no images.")
    return np.concatenate(parts)
