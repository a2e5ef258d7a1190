"""What a scene is made of: frozen dataclasses describing a street's geometry in metres.

A `Layout` decides the label map and nothing else; colours are chosen later, from another
RNG. The classes hold plain values only (tuples, floats), so that two layouts drawn from
the same seed compare equal. `sampling` makes them; `drawing` and `thing_drawing` paint
them.

World coordinates: X to the right, Y up, Z forward along the street, camera at X = 0.
"""

import dataclasses

from gta_keras.datasets.procedural_streets.scene_renderer import ids

VEHICLE_LABELS = {"car": ids.CAR, "bus": ids.BUS, "truck": ids.TRUCK}


@dataclasses.dataclass(frozen=True)
class Camera:
    """A pinhole camera at lateral X = 0, looking down the street along +Z.

    Attributes:
      horizon: image row of the horizon, as a fraction of the image height.
      vanishing_x: image column of the vanishing point, as a fraction of the width.
      focal: focal length as a fraction of the image width.
      height: height of the camera above the road, in metres.
    """

    horizon: float
    vanishing_x: float
    focal: float
    height: float


@dataclasses.dataclass(frozen=True)
class Instance:
    """One object or stuff region.

    Attributes:
      label: its trainId.
      kind: what the appearance model colours it as ("car", "sign_circle", ...).
      surface: ids.SURFACE_* of its pixels' surface coordinates.
      side: -1 / 1 for a region on a left / right side plane, else 0.
    """

    label: int
    kind: str
    surface: int = ids.SURFACE_NONE
    side: int = 0


@dataclasses.dataclass(frozen=True)
class Ground:
    """The ground plane, described by lateral bands outwards from the road edges.

    Attributes:
      road_left: signed X of the left road edge (negative: the camera is on the road).
      road_right: X of the right road edge.
      verge: widths of a grass verge between road and sidewalk, (left, right).
      sidewalk: sidewalk widths, (left, right).
      zone_label: trainId of the ground beyond the sidewalks (terrain or sidewalk).
      centre_line: X of the dashed centre line, or None.
      edge_lines: whether solid lines run along both road edges.
      crosswalk: (z_near, z_far) of a zebra crossing, or None.
      insts: instance ids of road, sidewalk and terrain.
    """

    road_left: float
    road_right: float
    verge: tuple
    sidewalk: tuple
    zone_label: tuple
    centre_line: object
    edge_lines: bool
    crosswalk: object
    insts: tuple

    def edge(self, side):
        """Outward distance from the camera axis to the road edge on `side` (-1 or 1)."""
        return self.road_right if side > 0 else -self.road_left

    def sidewalk_span(self, side):
        """Outward distances (inner, outer) of the sidewalk on `side`."""
        k = 0 if side < 0 else 1
        inner = self.edge(side) + self.verge[k]
        return inner, inner + self.sidewalk[k]


@dataclasses.dataclass(frozen=True)
class Windows:
    """A grid of windows on a facade: spacing and floor height in metres, sizes as fractions."""

    spacing: float
    floor: float
    width: float
    height: float
    shop: bool


@dataclasses.dataclass(frozen=True)
class Segment:
    """A piece of a vertical plane from `start` to `end` (metres along the plane).

    A wavy top edge (`wave` > 0) turns a box into a tree line or a hedge.
    """

    start: float
    end: float
    height: float
    label: int
    inst: int
    wave: float = 0.0
    phase: float = 0.0
    windows: object = None


@dataclasses.dataclass(frozen=True)
class Plane:
    """A vertical plane of segments.

    A side plane stands at lateral X = `position` and runs along Z (facades, fences); a
    frontal plane stands at depth Z = `position` and runs along X (the end of the street).
    """

    position: float
    frontal: bool
    segments: tuple


# The things below are painted far to near: each has a `depth` to sort by.


@dataclasses.dataclass(frozen=True)
class Tree:
    """A tree or bush: a trunk and a crown of ellipses (dx, height, radius), metres."""

    x: float
    z: float
    trunk_height: float
    trunk_width: float
    blobs: tuple
    inst: int

    @property
    def depth(self):
        return self.z


@dataclasses.dataclass(frozen=True)
class Attachment:
    """Something mounted on a pole: a sign, a traffic light or a lamp arm.

    Attributes:
      kind: "sign", "light" or "lamp".
      shape: sign shape ("circle", "rect", "triangle", "diamond", "octagon") or "".
      height: height of its centre above the ground, metres.
      size: its size in metres (for a lamp, the signed lateral length of the arm).
      offset: lateral offset of its centre from the pole axis, metres.
      inst: instance id (pole instance for a lamp).
    """

    kind: str
    shape: str
    height: float
    size: float
    offset: float
    inst: int


@dataclasses.dataclass(frozen=True)
class Pole:
    """A vertical pole with attachments."""

    x: float
    z: float
    height: float
    width: float
    attachments: tuple
    inst: int

    @property
    def depth(self):
        return self.z


@dataclasses.dataclass(frozen=True)
class Person:
    """An upright pedestrian of `height` metres; `stride` spreads the legs."""

    x: float
    z: float
    height: float
    stride: float
    inst: int

    @property
    def depth(self):
        return self.z


@dataclasses.dataclass(frozen=True)
class Vehicle:
    """A car, bus or truck: boxes aligned with the road, projected in 3D.

    Attributes:
      x: lateral centre, metres.
      z: depth of its near face, metres.
      width, length, height: its size, metres.
      kind: "car", "bus" or "truck".
      front: whether the near face is the front (oncoming traffic) rather than the rear.
      inst: instance id.
    """

    x: float
    z: float
    width: float
    length: float
    height: float
    kind: str
    front: bool
    inst: int

    @property
    def depth(self):
        return self.z

    @property
    def label(self):
        return VEHICLE_LABELS[self.kind]


@dataclasses.dataclass(frozen=True)
class Bicycle:
    """A bicycle seen from the side (crossing or parked), with an optional rider.

    Attributes:
      x, z: centre on the ground, metres.
      facing: +1 heading right in the image, -1 left.
      inst: bicycle instance id.
      rider_inst: rider instance id, or -1 for a parked bicycle.
      rider_height: rider's height, metres.
    """

    x: float
    z: float
    facing: int
    inst: int
    rider_inst: int
    rider_height: float

    @property
    def depth(self):
        return self.z


@dataclasses.dataclass(frozen=True)
class Layout:
    """Everything that decides the label map; nothing that decides colours.

    Attributes:
      camera: the camera.
      ground: the ground bands.
      planes: vertical planes in painting order (far to near).
      things: objects sorted far to near.
      instances: `Instance` per instance id; id 0 is the sky.
    """

    camera: Camera
    ground: Ground
    planes: tuple
    things: tuple
    instances: tuple
