"""Class protocols: the Cityscapes trainId classes and the subsets papers report on.

Every number this package reports says which classes it averages over. The paper reports
SYNTHIA -> Cityscapes on 16 classes, GTA5 -> Cityscapes on 19, and the unseen-domain study
(Table 5) on the 10 classes CamVid shares with SYNTHIA and Cityscapes. Related work also
uses 13 classes (the 16 without wall, fence and pole).
"""

import numpy as np

# Cityscapes trainIds 0..18 (cityscapesScripts helpers/labels.py); 255 is void.
CITYSCAPES_CLASSES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
    "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
    "bus", "train", "motorcycle", "bicycle",
)
NUM_CITYSCAPES_CLASSES = len(CITYSCAPES_CLASSES)
VOID_LABEL = 255
# Cityscapes colours per trainId (cityscapesScripts helpers/labels.py), for pictures.
CITYSCAPES_PALETTE = np.array([
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32)], dtype=np.uint8)

# trainIds averaged over by each protocol, keyed by its class count.
PROTOCOL_CLASS_IDS = {
    19: tuple(range(19)),
    # SYNTHIA has no terrain, truck or train.
    16: (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18),
    # The 16 without wall, fence and pole.
    13: (0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18),
}

# CamVid (SegNet version): 11 classes, 11 is void.
CAMVID_CLASSES = (
    "sky", "building", "pole", "road", "sidewalk", "tree", "sign symbol", "fence",
    "car", "pedestrian", "bicyclist",
)
CAMVID_VOID_LABEL = 11
# CamVid class -> Cityscapes trainId for the 10 classes the three datasets share.
# Bicyclist is left out: it covers both Cityscapes' rider and bicycle, so no single
# trainId prediction can be scored against it.
CAMVID_TO_TRAIN_ID = {
    0: 10,  # sky
    1: 2,  # building
    2: 5,  # pole
    3: 0,  # road
    4: 1,  # sidewalk
    5: 8,  # tree -> vegetation
    6: 7,  # sign symbol -> traffic sign
    7: 4,  # fence
    8: 13,  # car
    9: 11,  # pedestrian -> person
}
CAMVID_SHARED_CLASS_IDS = tuple(sorted(CAMVID_TO_TRAIN_ID))


def protocol_class_names(num_classes):
    """Names of the classes a Cityscapes protocol averages over.

    Args:
      num_classes: 19, 16 or 13.

    Returns:
      A tuple of class names in trainId order.

    Raises:
      ValueError: for a protocol that does not exist.
    """
    if num_classes not in PROTOCOL_CLASS_IDS:
        raise ValueError(
            f"No {num_classes}-class protocol; choose one of {sorted(PROTOCOL_CLASS_IDS)}."
        )
    return tuple(CITYSCAPES_CLASSES[i] for i in PROTOCOL_CLASS_IDS[num_classes])


def train_id_to_camvid_lookup():
    """A 256-entry table that maps predicted trainIds to CamVid class ids.

    trainIds that CamVid has no class for map to CAMVID_VOID_LABEL, so that a pixel
    predicted as (say) truck counts as a miss for whatever CamVid class it really is.

    Returns:
      A uint8 numpy array of shape [256].
    """
    table = np.full(256, CAMVID_VOID_LABEL, dtype=np.uint8)
    for camvid_id, train_id in CAMVID_TO_TRAIN_ID.items():
        table[train_id] = camvid_id
    return table
