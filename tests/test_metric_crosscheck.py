"""Our mIoU against the field's own tool, cityscapesScripts' `evaluateImgLists`.

A handful of random Cityscapes-shaped frames (64x128) are scored twice: by
`evaluation.SegmentationScorer` (Keras `evaluate`, as `experiment.score_split` runs it) on
trainIds, and by cityscapesScripts on the same frames written as labelIds PNGs, with
ground-truth file names containing `labelIds`, instance scores off and nothing written or
fetched. The frames include classes absent from the truth but predicted, classes neither
present nor predicted, void ground truth, and (in the second test) predictions of label ids
that have no trainId.
"""

import copy

import numpy as np
import pytest
import tensorflow as tf
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval
from PIL import Image

from gta_keras import evaluation
from gta_keras import label_maps
from gta_keras import protocols

HEIGHT, WIDTH = 64, 128
NUM_FRAMES = 5
CLASSES = protocols.CITYSCAPES_CLASSES
# trainId -> Cityscapes label id, from the package's own table.
TRAIN_ID_TO_LABEL_ID = {train_id: label_id
                        for label_id, train_id in label_maps.CITYSCAPES_ID_TO_TRAIN_ID.items()
                        if train_id != label_maps.VOID_LABEL}
# Label ids with no trainId (unlabeled, ground, parking, caravan, ...), scored as void.
VOID_LABEL_IDS = sorted(label_id for label_id, train_id
                        in label_maps.CITYSCAPES_ID_TO_TRAIN_ID.items()
                        if train_id == label_maps.VOID_LABEL and label_id >= 0)
TRAIN = CLASSES.index("train")  # never true, but predicted
BUS = CLASSES.index("bus")  # never true, never predicted
RIDER = CLASSES.index("rider")  # true in frame 0 only, predicted in every frame


def _frames(seed):
    """Ground-truth label ids and predicted trainIds for NUM_FRAMES random frames.

    Truth: blocks of random classes (8x8 pixels, so classes form regions), about 15% of
    them void label ids. Predictions: the true trainId on 60% of pixels, otherwise any.
    """
    rng = np.random.default_rng(seed)
    in_truth = [c for c in range(len(CLASSES)) if c not in (TRAIN, BUS, RIDER)]
    truths, predictions = [], []
    for frame in range(NUM_FRAMES):
        classes = in_truth + ([RIDER] if frame == 0 else [])
        blocks = rng.choice(classes, (HEIGHT // 8, WIDTH // 8))
        # A different subset of classes is missing from each frame's truth.
        missing = rng.choice(in_truth, 4, replace=False)
        blocks[np.isin(blocks, missing)] = in_truth[frame]
        train_ids = np.kron(blocks, np.ones((8, 8), np.int64))
        label_ids = np.vectorize(TRAIN_ID_TO_LABEL_ID.get)(train_ids)
        void = rng.random((HEIGHT, WIDTH)) < 0.15
        label_ids[void] = rng.choice(VOID_LABEL_IDS, int(void.sum()))
        predicted_classes = [c for c in range(len(CLASSES)) if c != BUS]
        guess = rng.choice(predicted_classes, (HEIGHT, WIDTH))
        guess[:2, :4] = TRAIN
        guess[-2:, -4:] = RIDER
        right = rng.random((HEIGHT, WIDTH)) < 0.6
        truths.append(label_ids.astype(np.uint8))
        predictions.append(np.where(right & ~void, train_ids, guess).astype(np.uint8))
    return truths, predictions


def _ours(truths, predicted_ids):
    """Our summary: labels as trainIds, predictions handed to the scorer as given."""
    labels = np.stack([label_maps.apply_lookup(label_maps.cityscapes_lookup(), t)
                       for t in truths])[..., None].astype(np.uint8)
    # The planted predictions ride in the image's first channel.
    images = np.repeat(np.stack(predicted_ids)[..., None], 3, -1).astype(np.float32)
    scorer = evaluation.SegmentationScorer(
        lambda batch, size: tf.cast(batch[..., 0], tf.int32), len(CLASSES))
    scorer.compile()
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2)
    scores = scorer.evaluate(dataset, verbose=0, return_dict=True)
    assert scores["num_images"] == NUM_FRAMES
    return evaluation.summarize(scorer.confusion.counts(), CLASSES,
                                {str(n): ids for n, ids in
                                 protocols.PROTOCOL_CLASS_IDS.items()}), scores


def _cityscapes_scripts(tmp_path, truths, predicted_label_ids):
    """cityscapesScripts' result dict for the frames, written as labelIds PNGs."""
    ground_truth, predictions = [], []
    for i, (truth, predicted) in enumerate(zip(truths, predicted_label_ids)):
        stem = f"frankfurt_000000_{i:06d}"
        ground_truth.append(str(tmp_path / f"{stem}_gtFine_labelIds.png"))
        predictions.append(str(tmp_path / f"{stem}_prediction.png"))
        Image.fromarray(truth, mode="L").save(ground_truth[-1])
        Image.fromarray(predicted.astype(np.uint8), mode="L").save(predictions[-1])
    args = copy.copy(cs_eval.args)
    args.evalInstLevelScore = False  # no *_instanceIds.png needed
    args.evalPixelAccuracy = False
    args.JSONOutput = False  # write no result file
    args.quiet = True
    args.colorized = False
    args.predictionPath = str(tmp_path)
    return cs_eval.evaluateImgLists(predictions, ground_truth, args)


def _assert_same_scores(ours, theirs):
    for name in CLASSES:
        expected = theirs["classScores"][name]
        if np.isnan(expected):
            assert ours["per_class_iou"][name] is None, name
        else:
            assert ours["per_class_iou"][name] == pytest.approx(expected, abs=1e-9), name
    assert ours["miou"] == pytest.approx(theirs["averageScoreClasses"], abs=1e-6)
    for protocol, ids in protocols.PROTOCOL_CLASS_IDS.items():
        expected = np.nanmean([theirs["classScores"][CLASSES[i]] for i in ids])
        assert ours[f"miou{protocol}"] == pytest.approx(expected, abs=1e-6), protocol


def test_miou_equals_cityscapes_scripts_on_random_frames(tmp_path):
    truths, predictions = _frames(seed=0)
    ours, scores = _ours(truths, predictions)
    label_id_predictions = [np.vectorize(TRAIN_ID_TO_LABEL_ID.get)(p) for p in predictions]
    theirs = _cityscapes_scripts(tmp_path, truths, label_id_predictions)

    # The cases that tell the rules apart occur.
    assert ours["per_class_iou"]["train"] == 0.0  # predicted, never true
    assert ours["per_class_iou"]["bus"] is None  # neither
    assert 0.0 < ours["per_class_iou"]["rider"] < 0.5  # true in one frame, predicted in all
    _assert_same_scores(ours, theirs)
    # Keras' running metric agrees with the summary too.
    assert scores["miou"] == pytest.approx(ours["miou"], abs=1e-6)


def test_predictions_of_label_ids_without_a_train_id_are_misses_in_both(tmp_path):
    """A predicted 'parking' or 'unlabeled' pixel is a miss for its true class."""
    truths, predictions = _frames(seed=1)
    rng = np.random.default_rng(2)
    label_id_predictions = []
    for predicted in predictions:
        label_ids = np.vectorize(TRAIN_ID_TO_LABEL_ID.get)(predicted)
        foreign = rng.random(label_ids.shape) < 0.1
        label_ids[foreign] = rng.choice(VOID_LABEL_IDS, int(foreign.sum()))
        label_id_predictions.append(label_ids)
    # Our side gets trainIds: the package's table maps those label ids to void (255).
    as_train_ids = [label_maps.apply_lookup(label_maps.cityscapes_lookup(), p)
                    for p in label_id_predictions]
    ours, _ = _ours(truths, as_train_ids)
    theirs = _cityscapes_scripts(tmp_path, truths, label_id_predictions)
    _assert_same_scores(ours, theirs)
