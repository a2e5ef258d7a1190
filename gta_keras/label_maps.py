"""Label id tables: every dataset's raw label ids mapped to the ids the models train on.

One place for the tables that decide what each labelled pixel means. Reading labels wrong
(the wrong channel, the wrong mapping, colours instead of ids) is the most common way a
segmentation result on these datasets silently goes wrong, so each table is spelled out
with its source and checked by `tests/test_label_maps.py`.

- Cityscapes label ids (0..33, and -1 for licence plates) -> trainIds 0..18, 255 void.
  Source: cityscapesScripts `helpers/labels.py`, which the test compares against. There,
  licence plates have trainId -1; here they are void (255) like every other ignored id.
- GTA5 labels hold Cityscapes label ids, so GTA5 uses the Cityscapes table.
- SYNTHIA-RAND-CITYSCAPES class ids (0..22) -> Cityscapes trainIds, as in DAFormer's and
  FDA's converters. Lane marking (22) and parking slot (13) are void unless
  `map_lane_and_parking_to_road=True`, which some codebases do.
- CamVid (SegNet version) keeps its own 11 classes; 11 is void.

Every lookup table is a 256-entry uint8 array indexed by raw id. Ids without an entry in a
dataset's table map to that dataset's void label, and entry 255 is always the void label.
`apply_lookup` and `tf_apply_lookup` also map ids outside 0..255 (a -1, or a large 16-bit
SYNTHIA value) to entry 255, so no raw id can index past the table or wrap around.
"""

import types

import numpy as np

from gta_keras import protocols

VOID_LABEL = protocols.VOID_LABEL
CAMVID_VOID_LABEL = protocols.CAMVID_VOID_LABEL
TABLE_SIZE = 256

# (label id, name, trainId) from cityscapesScripts helpers/labels.py, except the licence
# plate's trainId: -1 there, void here.
_CITYSCAPES_LABELS = (
    (0, "unlabeled", VOID_LABEL),
    (1, "ego vehicle", VOID_LABEL),
    (2, "rectification border", VOID_LABEL),
    (3, "out of roi", VOID_LABEL),
    (4, "static", VOID_LABEL),
    (5, "dynamic", VOID_LABEL),
    (6, "ground", VOID_LABEL),
    (7, "road", 0),
    (8, "sidewalk", 1),
    (9, "parking", VOID_LABEL),
    (10, "rail track", VOID_LABEL),
    (11, "building", 2),
    (12, "wall", 3),
    (13, "fence", 4),
    (14, "guard rail", VOID_LABEL),
    (15, "bridge", VOID_LABEL),
    (16, "tunnel", VOID_LABEL),
    (17, "pole", 5),
    (18, "polegroup", VOID_LABEL),
    (19, "traffic light", 6),
    (20, "traffic sign", 7),
    (21, "vegetation", 8),
    (22, "terrain", 9),
    (23, "sky", 10),
    (24, "person", 11),
    (25, "rider", 12),
    (26, "car", 13),
    (27, "truck", 14),
    (28, "bus", 15),
    (29, "caravan", VOID_LABEL),
    (30, "trailer", VOID_LABEL),
    (31, "train", 16),
    (32, "motorcycle", 17),
    (33, "bicycle", 18),
    (-1, "license plate", VOID_LABEL),
)
CITYSCAPES_LABEL_NAMES = types.MappingProxyType(
    {label_id: name for label_id, name, _ in _CITYSCAPES_LABELS}
)
CITYSCAPES_ID_TO_TRAIN_ID = types.MappingProxyType(
    {label_id: train_id for label_id, _, train_id in _CITYSCAPES_LABELS}
)

# (class id, name, Cityscapes trainId) from the SYNTHIA-RAND-CITYSCAPES README.
_SYNTHIA_LABELS = (
    (0, "void", VOID_LABEL),
    (1, "sky", 10),
    (2, "building", 2),
    (3, "road", 0),
    (4, "sidewalk", 1),
    (5, "fence", 4),
    (6, "vegetation", 8),
    (7, "pole", 5),
    (8, "car", 13),
    (9, "traffic sign", 7),
    (10, "pedestrian", 11),
    (11, "bicycle", 18),
    (12, "motorcycle", 17),
    (13, "parking-slot", VOID_LABEL),
    (14, "road-work", VOID_LABEL),
    (15, "traffic light", 6),
    (16, "terrain", 9),
    (17, "rider", 12),
    (18, "truck", 14),
    (19, "bus", 15),
    (20, "train", 16),
    (21, "wall", 3),
    (22, "lanemarking", VOID_LABEL),
)
SYNTHIA_LABEL_NAMES = types.MappingProxyType(
    {label_id: name for label_id, name, _ in _SYNTHIA_LABELS}
)
SYNTHIA_ID_TO_TRAIN_ID = types.MappingProxyType(
    {label_id: train_id for label_id, _, train_id in _SYNTHIA_LABELS}
)
SYNTHIA_PARKING_SLOT_ID = 13
SYNTHIA_LANE_MARKING_ID = 22
_ROAD_TRAIN_ID = protocols.CITYSCAPES_CLASSES.index("road")

# CamVid annotations already hold the class ids the evaluation uses: 0..10, and 11 void.
CAMVID_ID_TO_LABEL = types.MappingProxyType(
    {i: i for i in range(len(protocols.CAMVID_CLASSES) + 1)}
)

# Raw ids that each dataset's label files may legitimately contain. Anything else is
# mapped to void but is worth a warning: it usually means the wrong files or a wrong decode.
KNOWN_LABEL_IDS = types.MappingProxyType(
    {
        "cityscapes": frozenset(i for i in CITYSCAPES_ID_TO_TRAIN_ID if i >= 0),
        "gta5": frozenset(i for i in CITYSCAPES_ID_TO_TRAIN_ID if i >= 0),
        "synthia_rand_cityscapes": frozenset(SYNTHIA_ID_TO_TRAIN_ID),
        "camvid": frozenset(CAMVID_ID_TO_LABEL),
    }
)


def _table_from_mapping(mapping, void_label):
    """Builds a 256-entry uint8 table; ids not in `mapping` (and negative ids) get void."""
    table = np.full(TABLE_SIZE, void_label, dtype=np.uint8)
    for raw_id, target in mapping.items():
        if raw_id >= 0:
            table[raw_id] = target
    return table


def cityscapes_lookup():
    """The Cityscapes label id -> trainId table.

    Returns:
      A uint8 numpy array of shape [256]: trainIds 0..18 for the 19 evaluated classes,
      255 for every other id.
    """
    return _table_from_mapping(CITYSCAPES_ID_TO_TRAIN_ID, VOID_LABEL)


def gta5_lookup():
    """The GTA5 label id -> Cityscapes trainId table (GTA5 labels are Cityscapes ids).

    Returns:
      A uint8 numpy array of shape [256], equal to `cityscapes_lookup()`.
    """
    return cityscapes_lookup()


def synthia_lookup(map_lane_and_parking_to_road=False):
    """The SYNTHIA-RAND-CITYSCAPES class id -> Cityscapes trainId table.

    Args:
      map_lane_and_parking_to_road: if True, lane marking (22) and parking slot (13) become
        road, as in some codebases; by default they are void, as in DAFormer and FDA.

    Returns:
      A uint8 numpy array of shape [256].
    """
    table = _table_from_mapping(SYNTHIA_ID_TO_TRAIN_ID, VOID_LABEL)
    if map_lane_and_parking_to_road:
        table[[SYNTHIA_LANE_MARKING_ID, SYNTHIA_PARKING_SLOT_ID]] = _ROAD_TRAIN_ID
    return table


def camvid_lookup():
    """The CamVid table: its 11 class ids stay, everything else becomes void (11).

    Returns:
      A uint8 numpy array of shape [256].
    """
    return _table_from_mapping(CAMVID_ID_TO_LABEL, CAMVID_VOID_LABEL)


_LOOKUPS = {
    "cityscapes": cityscapes_lookup,
    "gta5": gta5_lookup,
    "synthia_rand_cityscapes": synthia_lookup,
    "camvid": camvid_lookup,
}


def lookup_for(dataset, **options):
    """The lookup table of a dataset, by its TFDS name.

    Args:
      dataset: "cityscapes", "gta5", "synthia_rand_cityscapes" or "camvid".
      **options: passed to the dataset's table function (for SYNTHIA,
        `map_lane_and_parking_to_road`).

    Returns:
      A uint8 numpy array of shape [256].

    Raises:
      ValueError: for an unknown dataset name.
    """
    if dataset not in _LOOKUPS:
        raise ValueError(f"No label table for {dataset!r}; choose one of {sorted(_LOOKUPS)}.")
    return _LOOKUPS[dataset](**options)


def apply_lookup(table, ids):
    """Maps raw label ids through a lookup table (numpy).

    Args:
      table: a 256-entry uint8 table from this module.
      ids: an integer array of raw ids of any shape and integer dtype. Ids outside 0..255
        map to `table[255]`, the void label.

    Returns:
      A uint8 array with the shape of `ids`.
    """
    table = np.asarray(table, dtype=np.uint8)
    ids = np.asarray(ids)
    # Widen first: a uint8 or uint16 comparison against 256 or 0 would wrap or be vacuous.
    wide = ids.astype(np.int64)
    in_range = (wide >= 0) & (wide < TABLE_SIZE)
    return table[np.where(in_range, wide, TABLE_SIZE - 1)]


def tf_apply_lookup(table, ids):
    """Maps raw label ids through a lookup table inside a TensorFlow graph (e.g. tf.data).

    Args:
      table: a 256-entry uint8 table from this module.
      ids: an integer tensor of raw ids of any shape. Ids outside 0..255 map to
        `table[255]`, the void label.

    Returns:
      A uint8 tensor with the shape of `ids`.
    """
    # TensorFlow is imported on first use so that the numpy tables, and with them
    # scripts/doctor.py for GTA5 and CamVid, load in a fraction of a second.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    wide = tf.cast(ids, tf.int64)
    in_range = tf.logical_and(wide >= 0, wide < TABLE_SIZE)
    indices = tf.where(in_range, wide, TABLE_SIZE - 1)
    return tf.gather(tf.constant(np.asarray(table, dtype=np.uint8)), indices)
