"""The ids every stage of the renderer shares: trainIds, domains, parts and surfaces.

Class names and the void label come from `gta_keras.protocols`, so the renderer labels
exactly the classes the rest of the package trains and scores on. Parts and surfaces are
appearance only: they tell the shader what a pixel looks like, never what it is labelled.
"""

from gta_keras import protocols

# === Labels ===

# Cityscapes class name -> trainId, from the package's one copy of the class list.
TRAIN_IDS = {name: train_id for train_id, name in enumerate(protocols.CITYSCAPES_CLASSES)}
VOID = protocols.VOID_LABEL

ROAD = TRAIN_IDS["road"]
SIDEWALK = TRAIN_IDS["sidewalk"]
BUILDING = TRAIN_IDS["building"]
WALL = TRAIN_IDS["wall"]
FENCE = TRAIN_IDS["fence"]
POLE = TRAIN_IDS["pole"]
TRAFFIC_LIGHT = TRAIN_IDS["traffic light"]
TRAFFIC_SIGN = TRAIN_IDS["traffic sign"]
VEGETATION = TRAIN_IDS["vegetation"]
TERRAIN = TRAIN_IDS["terrain"]
SKY = TRAIN_IDS["sky"]
PERSON = TRAIN_IDS["person"]
RIDER = TRAIN_IDS["rider"]
CAR = TRAIN_IDS["car"]
TRUCK = TRAIN_IDS["truck"]
BUS = TRAIN_IDS["bus"]
BICYCLE = TRAIN_IDS["bicycle"]
# The trainIds a scene can contain; the renderer draws no train, motorcycle or void.
RENDERED_TRAIN_IDS = (
    ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN, VEGETATION,
    TERRAIN, SKY, PERSON, RIDER, CAR, TRUCK, BUS, BICYCLE,
)

# === Domains ===

# The first two are the training pair (source, target); `dusk` is an unseen domain, only
# ever scored on. Order matters: a domain's index seeds its appearance RNG (`shading`), so
# a new domain goes at the end.
DOMAINS = ("synthetic", "realistic", "dusk")


def check_domain(domain):
    """Raises ValueError unless `domain` is one of DOMAINS."""
    if domain not in DOMAINS:
        raise ValueError(f"Unknown domain {domain!r}; choose one of {DOMAINS}.")


# === Parts and surfaces (appearance only: never part of the label) ===

(PART_BASE, PART_SHADED, PART_WINDOW, PART_GLASS, PART_TYRE, PART_LIGHT, PART_MARKING,
 PART_KERB, PART_TRUNK, PART_SKIN, PART_TOP, PART_BOTTOM) = range(12)
NUM_PARTS = 12

# A pixel's instance and part are packed into one code while painting
# (`inst << PART_BITS | part`), so that each primitive writes one array; everything else is
# looked up from the instance afterwards. 4 bits hold the NUM_PARTS parts.
PART_BITS = 4

# What the surface coordinates (su, sv) of a pixel mean.
SURFACE_NONE = 0  # an object: no surface coordinates
SURFACE_GROUND = 1  # su = lateral X, sv = depth Z, both in metres on the ground plane
SURFACE_PLANE = 2  # su = distance along a facade, sv = height above the ground, metres
