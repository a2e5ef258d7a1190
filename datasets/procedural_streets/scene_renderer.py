"""Procedural street scenes with Cityscapes trainId labels, in two appearance domains.

A scene is made in three steps, each a pure function of its arguments:

1. `sample_layout(seed)` draws the geometry of a street (camera, road, sidewalks, facades,
   fences, trees, poles with signs, vehicles, people) from a *layout* RNG seeded by `seed`
   alone. The domain is not an argument, so both domains share one layout distribution.
2. `rasterize(layout, height, width)` projects the layout through a pinhole camera, painting
   far to near, into per-pixel maps: the trainId label, an instance id, a part id (windows,
   tyres, lane markings: things that look different but carry their object's label) and
   surface coordinates in metres, so that textures sit on the surfaces in perspective.
3. `shade(raster, layout, domain, seed)` turns those maps into an RGB image from an
   *appearance* RNG. `synthetic` is flat and game-like; `realistic` has another palette,
   textures, lighting, blur, sensor noise and vignetting.

`render_scene(seed, domain)` runs the three. The label depends on the layout only, so the
same seed gives the same label map in both domains; the dataset builder gives each
(domain, split) its own seed range so that no scene is shared.
"""

import dataclasses
import functools
import math

import numpy as np

# === Labels ===

# Cityscapes trainIds (cityscapesScripts helpers/labels.py); 255 is void.
(ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN, VEGETATION,
 TERRAIN, SKY, PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE) = range(19)
VOID = 255
CLASS_NAMES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
    "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
    "bus", "train", "motorcycle", "bicycle",
)
# The trainIds a scene can contain; the renderer draws no train, motorcycle or void.
RENDERED_TRAIN_IDS = (
    ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN, VEGETATION,
    TERRAIN, SKY, PERSON, RIDER, CAR, TRUCK, BUS, BICYCLE,
)
DOMAINS = ("synthetic", "realistic")

# Cityscapes colours for previews (cityscapesScripts helpers/labels.py).
CITYSCAPES_COLORS = np.array([
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32)], dtype=np.uint8)

# === Parts and surfaces (appearance only: never part of the label) ===

(PART_BASE, PART_SHADED, PART_WINDOW, PART_GLASS, PART_TYRE, PART_LIGHT, PART_MARKING,
 PART_KERB, PART_TRUNK, PART_SKIN, PART_TOP, PART_BOTTOM) = range(12)
NUM_PARTS = 12

# What the surface coordinates (su, sv) of a pixel mean.
SURFACE_NONE = 0  # an object: no surface coordinates
SURFACE_GROUND = 1  # su = lateral X, sv = depth Z, both in metres on the ground plane
SURFACE_PLANE = 2  # su = distance along a facade, sv = height above the ground, metres

_VEHICLE_LABELS = {"car": CAR, "bus": BUS, "truck": TRUCK}

# Objects narrower than this many pixels are drawn without details (windows, wheels).
_DETAIL_PIXELS = 6.0

# Independent streams of one seed: layout and appearance never share random numbers.
_LAYOUT_STREAM = 0x1A7
_APPEARANCE_STREAM = 0xA99


# === Layout ===


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
      surface: SURFACE_* of its pixels' surface coordinates.
      side: -1 / 1 for a region on a left / right side plane, else 0.
    """

    label: int
    kind: str
    surface: int = SURFACE_NONE
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

    def draw(self, raster, proj):
        if self.trunk_height > 0:
            cx, half = proj.x(self.x, self.z), 0.5 * proj.size(self.trunk_width, self.z)
            region = _rect(raster, cx - half, proj.y(self.trunk_height, self.z),
                           cx + half, proj.y(0.0, self.z))
            raster.paint(region, self.inst, PART_TRUNK)
        blobs = np.array(self.blobs, np.float32)
        centres_x = proj.x(self.x + blobs[:, 0], self.z)
        centres_y = proj.y(blobs[:, 1], self.z)
        radii = np.maximum(proj.size(blobs[:, 2], self.z), 0.5)
        raster.paint(_ellipses(raster, centres_x, centres_y, radii, 0.85 * radii), self.inst)


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

    def draw(self, raster, proj):
        cx, half = proj.x(self.x, self.z), 0.5 * proj.size(self.width, self.z)
        region = _rect(raster, cx - half, proj.y(self.height, self.z),
                       cx + half, proj.y(0.0, self.z))
        raster.paint(region, self.inst)
        for item in self.attachments:
            _draw_attachment(raster, proj, self, item)


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

    def draw(self, raster, proj):
        h = self.height
        if proj.size(h, self.z) < _DETAIL_PIXELS:
            # A few pixels tall: a plain upright box, as annotators would outline it.
            cx, half = proj.x(self.x, self.z), 0.5 * proj.size(0.3 * h, self.z)
            raster.paint(_rect(raster, cx - half, proj.y(h, self.z), cx + half,
                               proj.y(0.0, self.z)), self.inst, PART_TOP)
            return

        def box(x0, x1, y0, y1, part):
            region = _rect(raster, proj.x(self.x + x0 * h, self.z), proj.y(y1 * h, self.z),
                           proj.x(self.x + x1 * h, self.z), proj.y(y0 * h, self.z))
            raster.paint(region, self.inst, part)

        spread = 0.04 * self.stride
        box(-0.11 - spread, -0.01 - spread, 0.0, 0.5, PART_BOTTOM)
        box(0.01 + spread, 0.11 + spread, 0.0, 0.5, PART_BOTTOM)
        box(-0.18, 0.18, 0.5, 0.64, PART_TOP)  # arms
        box(-0.13, 0.13, 0.46, 0.83, PART_TOP)
        region = _ellipse(raster, proj.x(self.x, self.z), proj.y(0.9 * h, self.z),
                          proj.size(0.065 * h, self.z), proj.size(0.08 * h, self.z))
        raster.paint(region, self.inst, PART_SKIN)


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
        return _VEHICLE_LABELS[self.kind]

    def draw(self, raster, proj):
        if proj.size(self.width, self.z) < _DETAIL_PIXELS:
            # Far away, details would cover a pixel or two: one box keeps the silhouette.
            raster.paint(_box(raster, proj, self.x - self.width / 2, self.x + self.width / 2,
                              0.2, self.height, self.z, self.z + self.length),
                         self.inst, PART_SHADED)
            return
        _draw_shadow(raster, proj, self)
        if self.kind == "truck":
            _draw_truck(raster, proj, self)
        elif self.kind == "bus":
            _draw_bus(raster, proj, self)
        else:
            _draw_car(raster, proj, self)


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

    def draw(self, raster, proj):
        _draw_bicycle(raster, proj, self)
        if self.rider_inst >= 0:
            _draw_rider(raster, proj, self)


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


class _Registry:
    """Hands out instance ids while a layout is sampled."""

    def __init__(self):
        self.instances = []

    def add(self, label, kind, surface=SURFACE_NONE, side=0):
        self.instances.append(Instance(label, kind, surface, side))
        return len(self.instances) - 1


def sample_layout(seed):
    """Draws a street layout; the same seed always gives the same layout.

    Args:
      seed: a non-negative integer.

    Returns:
      A `Layout`.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _LAYOUT_STREAM]))
    registry = _Registry()
    registry.add(SKY, "sky")
    camera = Camera(horizon=rng.uniform(0.36, 0.47), vanishing_x=rng.uniform(0.4, 0.6),
                    focal=rng.uniform(0.5, 0.62), height=rng.uniform(1.3, 1.7))
    ground = _sample_ground(rng, registry)
    z_end = rng.uniform(70.0, 160.0)
    planes = [_sample_backdrop(rng, registry, z_end)]
    front_planes, edge_planes, park = [], [], {}
    for side in (-1, 1):
        back, front, edge, park[side] = _sample_side(rng, registry, ground, side, z_end)
        planes.append(back)
        front_planes.append(front)
        edge_planes.append(edge)
    things = []
    things += _sample_trees(rng, registry, ground, park, z_end)
    things += _sample_poles(rng, registry, ground, z_end)
    things += _sample_vehicles(rng, registry, ground, z_end)
    things += _sample_people(rng, registry, ground)
    things += _sample_bicycles(rng, registry, ground)
    things.sort(key=lambda thing: -thing.depth)
    return Layout(camera, ground, tuple(planes + front_planes + edge_planes), tuple(things),
                  tuple(registry.instances))


def _sample_ground(rng, registry):
    """Road width and position, verges, sidewalks, markings and a possible crossing."""
    half = rng.uniform(3.5, 7.5)
    # The camera rides in a lane, never on the kerb.
    offset = rng.uniform(-0.5, 0.5) * (half - 1.6)
    insts = tuple(registry.add(label, kind, SURFACE_GROUND) for label, kind in
                  ((ROAD, "road"), (SIDEWALK, "sidewalk"), (TERRAIN, "terrain")))
    verge = tuple(rng.uniform(0.8, 2.5) if rng.random() < 0.25 else 0.0 for _ in range(2))
    sidewalk = tuple(rng.uniform(1.5, 4.5) for _ in range(2))
    zone = tuple(TERRAIN if rng.random() < 0.5 else SIDEWALK for _ in range(2))
    crosswalk = None
    if rng.random() < 0.3:
        z0 = rng.uniform(7.0, 28.0)
        crosswalk = (z0, z0 + rng.uniform(2.5, 4.0))
    return Ground(
        road_left=-half - offset, road_right=half - offset, verge=verge, sidewalk=sidewalk,
        zone_label=zone, centre_line=-offset if rng.random() < 0.7 else None,
        edge_lines=bool(rng.random() < 0.5), crosswalk=crosswalk, insts=insts)


def _sample_windows(rng):
    """Window grid of one facade: one draw of five uniforms, mapped to their ranges."""
    u = rng.random(5)
    return Windows(spacing=1.6 + 1.9 * u[0], floor=2.8 + 0.8 * u[1], width=0.3 + 0.35 * u[2],
                   height=0.35 + 0.25 * u[3], shop=bool(u[4] < 0.4))


def _sample_run(rng, registry, start, end, choose, side):
    """Segments of a plane on `side` (0: frontal) covering [start, end).

    `choose(rng)` gives (label, kind, length, height, wave); a label of None is a gap.
    """
    segments, z = [], start
    while z < end:
        spec = choose(rng)
        label, kind, length, height, wave = spec
        if label is not None:
            windows = _sample_windows(rng) if label == BUILDING else None
            segments.append(Segment(z, min(z + length, end), height, label,
                                    registry.add(label, kind, SURFACE_PLANE, side), wave,
                                    rng.uniform(0, 2 * np.pi), windows))
        z += length
    return tuple(segments)


def _building(rng, low, high):
    return (BUILDING, "building", rng.uniform(6.0, 28.0), rng.uniform(low, high), 0.0)


def _tree_line(rng, low, high):
    return (VEGETATION, "treeline", rng.uniform(8.0, 30.0), rng.uniform(low, high),
            rng.uniform(0.8, 2.0))


def _sample_backdrop(rng, registry, z_end):
    """Buildings and tree lines across the far end of the street, with a few gaps of sky."""

    def choose(rng):
        u = rng.random()
        if u < 0.1:
            return (None, "", rng.uniform(5.0, 20.0), 0.0, 0.0)
        if u < 0.3:
            return _tree_line(rng, 6.0, 14.0)
        return _building(rng, 6.0, 35.0)

    # The widest view (vanishing point at 40 % of the width, focal length half the width)
    # sees lateral X up to 1.2 * z_end at the end of the street.
    reach = 1.25 * z_end
    return Plane(z_end, True, _sample_run(rng, registry, -reach, reach, choose, 0))


def _sample_side(rng, registry, ground, side, z_end):
    """One side of the street: a back plane, the front facades and an edge plane.

    Returns:
      (back plane, front plane, edge plane, whether this side is a park).
    """
    _, outer = ground.sidewalk_span(side)
    park = bool(rng.random() < 0.15)
    setback = 0.0 if rng.random() < 0.5 else rng.uniform(1.0, 6.0)
    if park:
        setback = rng.uniform(6.0, 15.0)
    facade = outer + setback
    back_depth = rng.uniform(6.0, 25.0)

    def choose_back(rng):
        if park or rng.random() < 0.35:
            return _tree_line(rng, 6.0, 16.0)
        return _building(rng, 8.0, 40.0)

    def choose_front(rng):
        if park or rng.random() < 0.18:
            return (None, "", rng.uniform(3.0, 14.0), 0.0, 0.0)
        return _building(rng, 5.0, 30.0)

    def choose_edge(rng):
        u = rng.random()
        length = rng.uniform(4.0, 30.0)
        if u < 0.45:
            return (None, "", length, 0.0, 0.0)
        if u < 0.72:
            return (FENCE, "fence", length, rng.uniform(1.0, 2.0), 0.0)
        if u < 0.86:
            return (WALL, "wall", length, rng.uniform(0.6, 2.2), 0.0)
        return (VEGETATION, "hedge", length, rng.uniform(0.8, 1.6), 0.2)

    back = Plane(side * (facade + back_depth), False,
                 _sample_run(rng, registry, 0.5, z_end, choose_back, side))
    front = Plane(side * facade, False, _sample_run(rng, registry, 0.5, z_end, choose_front, side))
    edge_end = z_end if park else 0.6 * z_end
    edge = Plane(side * outer, False,
                 _sample_run(rng, registry, rng.uniform(0.0, 10.0), edge_end, choose_edge,
                             side))
    if park and not edge.segments:
        edge = Plane(side * outer, False, (Segment(
            2.0, z_end, rng.uniform(1.0, 1.8), FENCE,
            registry.add(FENCE, "fence", SURFACE_PLANE, side)),))
    return back, front, edge, park


def _sample_tree(rng, registry, x, z, bush=False):
    """A tree (or a low bush) whose crown is a cluster of ellipses."""
    if bush:
        trunk, radius = 0.0, rng.uniform(0.4, 0.9)
        centre = radius * 0.8
    else:
        trunk, radius = rng.uniform(1.6, 3.2), rng.uniform(1.2, 2.8)
        centre = trunk + radius * 0.9
    u = rng.random((int(rng.integers(4, 7)), 3))
    blobs = np.stack([(1.2 * u[:, 0] - 0.6) * radius, centre + (u[:, 1] - 0.45) * radius,
                      (0.5 + 0.35 * u[:, 2]) * radius], axis=1)
    blobs = tuple(map(tuple, blobs.tolist()))  # plain values: layouts compare equal
    return Tree(x, z, trunk, rng.uniform(0.2, 0.4), blobs,
                registry.add(VEGETATION, "bush" if bush else "tree"))


def _sample_trees(rng, registry, ground, park, z_end):
    """Rows of street trees on verges or sidewalks, park trees, and bushes."""
    trees = []
    for side in (-1, 1):
        inner, outer = ground.sidewalk_span(side)
        edge = ground.edge(side)
        if rng.random() < 0.55:
            spacing = rng.uniform(6.0, 15.0)
            z = rng.uniform(2.0, 10.0)
            on_verge = inner - edge >= 1.0
            d = 0.5 * (edge + inner) if on_verge else inner + rng.uniform(0.5, 1.0)
            while z < min(z_end, 80.0):
                trees.append(_sample_tree(rng, registry, side * d, z))
                z += spacing * rng.uniform(0.8, 1.2)
        if park[side]:
            for _ in range(int(rng.integers(3, 9))):
                d = outer + rng.uniform(1.5, 6.0)
                trees.append(_sample_tree(rng, registry, side * d, rng.uniform(4.0, 60.0)))
        for _ in range(int(rng.integers(0, 4))):
            d = outer - rng.uniform(0.3, 0.6)
            trees.append(_sample_tree(rng, registry, side * d, rng.uniform(3.0, 40.0), True))
    return trees


def _sample_attachments(rng, registry, side):
    """A pole's height and attachments: signs, a traffic light or a lamp arm."""
    u = rng.random()
    if u < 0.5:
        pole_height = rng.uniform(2.6, 4.2)
        items, top = [], pole_height - rng.uniform(0.05, 0.3)
        for _ in range(int(rng.integers(1, 3))):
            shape = ("circle", "rect", "triangle", "diamond", "octagon")[int(rng.integers(5))]
            size = rng.uniform(0.6, 0.95)
            items.append(Attachment("sign", shape, top - size / 2, size, 0.0,
                                    registry.add(TRAFFIC_SIGN, "sign_" + shape)))
            top -= size + 0.1
        return pole_height, items
    if u < 0.75:
        pole_height, size = rng.uniform(3.0, 5.5), rng.uniform(0.8, 1.1)
        return pole_height, [Attachment("light", "", pole_height - size / 2, size, 0.0,
                                        registry.add(TRAFFIC_LIGHT, "traffic_light"))]
    # A street lamp's arm reaches over the road, towards the camera axis.
    pole_height = rng.uniform(5.0, 8.0)
    return pole_height, [Attachment("lamp", "", pole_height, -side * rng.uniform(0.8, 2.0),
                                    0.0, -1)]


def _sample_poles(rng, registry, ground, z_end):
    """Sign poles, traffic lights and street lamps near the kerb."""
    poles = []
    for side in (-1, 1):
        inner, _ = ground.sidewalk_span(side)
        for _ in range(int(rng.integers(2, 8))):
            z = 3.0 + (min(z_end, 70.0) - 3.0) * rng.random() ** 1.3
            inst = registry.add(POLE, "pole")
            height, items = _sample_attachments(rng, registry, side)
            items = [dataclasses.replace(item, inst=inst) if item.kind == "lamp" else item
                     for item in items]
            poles.append(Pole(side * (inner + rng.uniform(0.25, 0.6)), z, height,
                              rng.uniform(0.15, 0.3), tuple(items), inst))
    return poles


def _vehicle_dims(rng, kind):
    """Width, length and height of a vehicle of `kind`, in metres."""
    if kind == "bus":
        return rng.uniform(2.4, 2.6), rng.uniform(10.0, 12.5), rng.uniform(2.9, 3.3)
    if kind == "truck":
        return rng.uniform(2.2, 2.5), rng.uniform(6.5, 9.0), rng.uniform(2.8, 3.6)
    return rng.uniform(1.7, 1.95), rng.uniform(3.8, 4.8), rng.uniform(1.38, 1.6)


def _vehicle_kind(rng):
    u = rng.random()
    return "bus" if u < 0.05 else "truck" if u < 0.1 else "car"


def _sample_vehicle_row(rng, registry, x_of_width, z, z_stop, front, max_count, gap):
    """Vehicles in one row (a parking lane or a traffic lane) from depth z to z_stop."""
    vehicles = []
    while z < z_stop and len(vehicles) < max_count:
        kind = _vehicle_kind(rng)
        width, length, height = _vehicle_dims(rng, kind)
        label = _VEHICLE_LABELS[kind]
        facing_front = front if front is not None else bool(rng.random() < 0.5)
        kind_name = kind + ("_front" if facing_front and kind == "car" else "")
        vehicles.append(Vehicle(x_of_width(width), z, width, length, height, kind,
                                facing_front, registry.add(label, kind_name)))
        z += length + gap(rng)
    return vehicles


def _sample_vehicles(rng, registry, ground, z_end):
    """Parked rows along both kerbs and a few cars in the traffic lanes."""
    vehicles, lo, hi = [], ground.road_left, ground.road_right
    for side in (-1, 1):
        if rng.random() < 0.55:
            edge = ground.edge(side)

            def x_of_width(width, edge=edge, side=side):
                return side * (edge - 0.25 - width / 2)

            def parked_gap(rng):
                return rng.uniform(6.0, 20.0) if rng.random() < 0.25 else rng.uniform(0.8, 5.0)

            vehicles += _sample_vehicle_row(rng, registry, x_of_width, rng.uniform(2.0, 9.0),
                                            min(0.75 * z_end, 80.0), None, 10, parked_gap)
            if side < 0:
                lo += 2.3
            else:
                hi -= 2.3
    lanes = max(1, int((hi - lo) // 3.2))
    width = (hi - lo) / lanes
    centre = ground.centre_line if ground.centre_line is not None else 0.5 * (lo + hi)
    for lane in range(lanes):
        x_lane = lo + (lane + 0.5) * width
        own_lane = abs(x_lane) < width / 2
        start = rng.uniform(7.0, 20.0) if own_lane else rng.uniform(3.0, 25.0)

        def traffic_gap(rng):
            return rng.uniform(5.0, 30.0)

        vehicles += _sample_vehicle_row(
            rng, registry, lambda w, x_lane=x_lane: x_lane + rng.uniform(-0.3, 0.3), start,
            min(90.0, z_end), x_lane < centre, int(rng.integers(0, 3)), traffic_gap)
    return vehicles


def _sample_people(rng, registry, ground):
    """Pedestrians on the sidewalks, and on the crossing if there is one."""
    people = []
    for _ in range(int(rng.integers(1, 12))):
        side = 1 if rng.random() < 0.5 else -1
        inner, outer = ground.sidewalk_span(side)
        d = rng.uniform(inner + 0.3, max(inner + 0.4, outer - 0.3))
        # More people near the camera than a uniform depth would give, as in street photos.
        z = 3.0 + 37.0 * rng.random() ** 1.5
        people.append(Person(side * d, z, rng.uniform(1.5, 1.95),
                             rng.uniform(-1.0, 1.0), registry.add(PERSON, "person")))
    if ground.crosswalk is not None:
        z0, z1 = ground.crosswalk
        for _ in range(int(rng.integers(0, 4))):
            people.append(Person(rng.uniform(ground.road_left + 0.5, ground.road_right - 0.5),
                                 rng.uniform(z0 + 0.3, z1 - 0.3), rng.uniform(1.5, 1.95),
                                 rng.uniform(-1.0, 1.0), registry.add(PERSON, "person")))
    return people


def _sample_bicycles(rng, registry, ground):
    """A cyclist crossing the road now and then, and the odd parked bicycle."""
    bicycles = []
    if rng.random() < 0.3:
        inst = registry.add(BICYCLE, "bicycle")
        rider = registry.add(RIDER, "rider")
        x = rng.uniform(ground.road_left + 1.0, ground.road_right - 1.0)
        bicycles.append(Bicycle(x, rng.uniform(6.0, 30.0), 1 if rng.random() < 0.5 else -1,
                                inst, rider, rng.uniform(1.6, 1.9)))
    if rng.random() < 0.2:
        side = 1 if rng.random() < 0.5 else -1
        _, outer = ground.sidewalk_span(side)
        bicycles.append(Bicycle(side * (outer - 0.5), rng.uniform(4.0, 30.0),
                                1 if rng.random() < 0.5 else -1,
                                registry.add(BICYCLE, "bicycle"), -1, 0.0))
    return bicycles


# === Rasterisation ===


class _Projector:
    """World (X right, Y up, Z forward; metres) to pixel coordinates for one image size."""

    def __init__(self, camera, height, width):
        self.f = camera.focal * width
        self.hor = camera.horizon * height
        self.vp = camera.vanishing_x * width
        self.cam_y = camera.height

    def x(self, x, z):
        return self.vp + self.f * x / z

    def y(self, y, z):
        return self.hor + self.f * (self.cam_y - y) / z

    def size(self, metres, z):
        return self.f * metres / z

    def point(self, x, y, z):
        return self.x(x, z), self.y(y, z)


# A pixel's instance and part are packed into one code while painting, so that each
# primitive writes one array; everything else is looked up from the instance afterwards.
_PART_BITS = 4


class Raster:
    """Per-pixel maps of a layout at one image size; `label` is the training target.

    While painting only `code` (instance and part), `su`, `sv` and `shadow` are written;
    `rasterize` then derives the other maps from the instances.

    Attributes:
      code: int32 [H, W] `inst << _PART_BITS | part`.
      label: uint8 [H, W] trainIds.
      inst: int32 [H, W] instance ids into `Layout.instances`.
      part: uint8 [H, W] PART_* ids.
      surface: uint8 [H, W] SURFACE_* ids saying what `su` and `sv` mean.
      su, sv: float32 [H, W] surface coordinates in metres.
      side: int8 [H, W] -1 / 1 for pixels on a left / right side plane, else 0.
      shadow: bool [H, W] ground right under a vehicle.
    """

    def __init__(self, height, width):
        shape = (height, width)
        self.code = np.zeros(shape, np.int32)  # instance 0 is the sky
        self.su = np.zeros(shape, np.float32)
        self.sv = np.zeros(shape, np.float32)
        self.shadow = np.zeros(shape, bool)
        self.label = self.inst = self.part = self.surface = self.side = None

    @property
    def shape(self):
        return self.code.shape

    def paint(self, region, inst, part=PART_BASE):
        """Paints an object over `region` (from `_rect`, `_ellipse`, `_polygon`)."""
        if region is None:
            return
        rows, cols, mask = region
        if mask is None:
            self.code[rows, cols] = inst << _PART_BITS | part
        else:
            self.code[rows, cols][mask] = inst << _PART_BITS | part

    def resolve(self, instances):
        """Derives label, inst, part, surface and side from `code` and the instances."""
        self.inst = self.code >> _PART_BITS
        self.part = (self.code & ((1 << _PART_BITS) - 1)).astype(np.uint8)
        self.label = np.array([i.label for i in instances], np.uint8)[self.inst]
        self.surface = np.array([i.surface for i in instances], np.uint8)[self.inst]
        self.side = np.array([i.side for i in instances], np.int8)[self.inst]


def rasterize(layout, height, width):
    """Projects a layout into per-pixel maps, painting far to near.

    Args:
      layout: a `Layout`.
      height: image height in pixels.
      width: image width in pixels.

    Returns:
      A `Raster`.
    """
    raster = Raster(height, width)
    proj = _Projector(layout.camera, height, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        _draw_ground(raster, proj, layout.ground)
        for plane in layout.planes:
            _draw_plane(raster, proj, plane)
    for thing in layout.things:
        thing.draw(raster, proj)
    raster.resolve(layout.instances)
    return raster


def _span(a, b, size):
    """Pixels [lo, hi) whose centres lie in [a, b), widened to one pixel if thinner."""
    # Plain Python floats: this runs hundreds of times per image, numpy scalars are slow.
    a, b = float(a), float(b)
    if b - a < 1.0:
        centre = 0.5 * (a + b)
        a, b = centre - 0.5, centre + 0.5
    lo = math.ceil(min(max(a, -1.0), size + 1.0) - 0.5)
    hi = math.ceil(min(max(b, -1.0), size + 1.0) - 0.5)
    return max(lo, 0), min(hi, size)


def _rect(raster, x0, y0, x1, y1):
    """Region of an axis-aligned rectangle in pixel coordinates, or None if off-image."""
    height, width = raster.shape
    r0, r1 = _span(y0, y1, height)
    c0, c1 = _span(x0, x1, width)
    if r0 >= r1 or c0 >= c1:
        return None
    return slice(r0, r1), slice(c0, c1), None


def _grid(raster, x0, y0, x1, y1):
    """Pixel-centre coordinates of the bounding box, or None if it is off-image."""
    height, width = raster.shape
    r0, r1 = _span(y0, y1, height)
    c0, c1 = _span(x0, x1, width)
    if r0 >= r1 or c0 >= c1:
        return None
    ys = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(c0, c1, dtype=np.float32)[None, :] + 0.5
    return slice(r0, r1), slice(c0, c1), xs, ys


def _ellipse(raster, cx, cy, rx, ry, inner=0.0):
    """Region of an axis-aligned ellipse (a ring if `inner`, a fraction, is > 0)."""
    rx, ry = max(rx, 0.5), max(ry, 0.5)
    grid = _grid(raster, cx - rx, cy - ry, cx + rx, cy + ry)
    if grid is None:
        return None
    rows, cols, xs, ys = grid
    dist = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2
    mask = dist <= 1.0
    if inner > 0:
        mask &= dist > inner ** 2
    return rows, cols, mask


def _ellipses(raster, cx, cy, rx, ry):
    """Region of a union of axis-aligned ellipses given as arrays of centres and radii."""
    grid = _grid(raster, np.min(cx - rx), np.min(cy - ry), np.max(cx + rx), np.max(cy + ry))
    if grid is None:
        return None
    rows, cols, xs, ys = grid
    dist = ((xs[None] - cx[:, None, None]) / rx[:, None, None]) ** 2 + \
        ((ys[None] - cy[:, None, None]) / ry[:, None, None]) ** 2
    return rows, cols, np.any(dist <= 1.0, axis=0)


def _polygon(raster, points):
    """Region of a convex polygon given as a sequence of (x, y) pixel coordinates."""
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    n = len(pts)
    if n < 3:
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    grid = _grid(raster, lo[0], lo[1], hi[0], hi[1])
    if grid is None:
        return None
    rows, cols, xs, ys = grid
    # Scanline fill: a row of a convex polygon is the span between its edge crossings.
    start, delta = pts, pts[_NEXT_VERTEX[n]] - pts
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (ys[:, 0] - start[:, 1:]) / delta[:, 1:]  # NaN or inf on horizontal edges
    x_at = np.where((t >= 0.0) & (t <= 1.0), start[:, :1] + t * delta[:, :1], np.nan)
    left, right = np.fmin.reduce(x_at, axis=0), np.fmax.reduce(x_at, axis=0)
    return rows, cols, (xs >= left[:, None]) & (xs <= right[:, None])


# _NEXT_VERTEX[n][i] is the vertex after i in a polygon of n vertices.
_NEXT_VERTEX = {n: np.roll(np.arange(n), -1) for n in range(3, 17)}


def _convex_hull(points):
    """Convex hull (Andrew's monotone chain) of a few 2D points, as a list of (x, y)."""
    pts = sorted(set((float(x), float(y)) for x, y in points))
    if len(pts) < 3:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    def half(seq):
        chain = []
        for p in seq:
            while len(chain) >= 2 and cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(reversed(pts))
    return lower[:-1] + upper[:-1]


def _box(raster, proj, x0, x1, y0, y1, z0, z1):
    """Region covered by a 3D box (its convex silhouette)."""
    corners = [proj.point(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)]
    return _polygon(raster, _convex_hull(corners))


def _face(raster, proj, x0, x1, y0, y1, z):
    """Region of a frontal rectangle at depth z."""
    return _rect(raster, proj.x(x0, z), proj.y(y1, z), proj.x(x1, z), proj.y(y0, z))


def _side_quad(raster, proj, x, corners):
    """Region of a quad on the side plane at lateral x; corners are (y, z) pairs."""
    return _polygon(raster, [proj.point(x, y, z) for y, z in corners])


def _segment(raster, proj, p, q, z, thickness):
    """Region of a thick line from p to q (world (x, y) at depth z)."""
    (x0, y0), (x1, y1) = proj.point(p[0], p[1], z), proj.point(q[0], q[1], z)
    length = max(np.hypot(x1 - x0, y1 - y0), 1e-6)
    half = max(0.5 * proj.size(thickness, z), 0.5)
    nx, ny = -(y1 - y0) / length * half, (x1 - x0) / length * half
    return _polygon(raster, [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny),
                             (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)])


def _draw_ground(raster, proj, ground):
    """Road, verges, sidewalks and the zone beyond them, with markings and kerbs."""
    height, width = raster.shape
    first = max(int(np.ceil(proj.hor)), 0)
    rows = np.arange(first, height, dtype=np.float32) + 0.5
    rows = rows[rows - proj.hor > 0.25]
    if rows.size == 0:
        return
    r0 = height - rows.size
    z = (proj.f * proj.cam_y / (rows - proj.hor))[:, None]
    x = (np.arange(width, dtype=np.float32)[None, :] + 0.5 - proj.vp) * z / proj.f
    right = x >= 0
    out = np.where(right, x - ground.road_right, ground.road_left - x)
    verge = np.where(right, ground.verge[1], ground.verge[0])
    walk_end = verge + np.where(right, ground.sidewalk[1], ground.sidewalk[0])
    road_i, walk_i, terrain_i = ground.insts
    zone_i = [walk_i if label == SIDEWALK else terrain_i for label in ground.zone_label]
    # Bands outwards from the road edge: road, verge (terrain), sidewalk, zone.
    code = np.where(right, zone_i[1], zone_i[0]).astype(np.int32)
    code[out < walk_end] = walk_i
    code[out < verge] = terrain_i
    road = out < 0
    code[road] = road_i
    code <<= _PART_BITS
    kerb = (out >= 0) & (((out >= verge) & (out < verge + 0.25)) | (out < 0.2))
    code[kerb & (code >> _PART_BITS != terrain_i)] |= PART_KERB
    code[road & _markings(ground, x, z, out)] |= PART_MARKING
    sl = slice(r0, height)
    raster.code[sl] = code
    raster.su[sl], raster.sv[sl] = x, np.broadcast_to(z, x.shape)


def _markings(ground, x, z, out):
    """Lane markings: a dashed centre line, edge lines and a zebra crossing."""
    marks = np.zeros(x.shape, bool)
    if ground.centre_line is not None:
        marks |= (np.abs(x - ground.centre_line) < 0.07) & (np.mod(z, 6.0) < 3.0)
    if ground.edge_lines:
        marks |= (out > -0.45) & (out < -0.3)
    if ground.crosswalk is not None:
        z0, z1 = ground.crosswalk
        marks |= (z >= z0) & (z < z1) & (np.mod(x, 1.0) < 0.5) & (out < -0.4)
    return marks


def _plane_columns(proj, plane, width):
    """Per image column: position along the plane, depth, and whether it sees the plane."""
    cols = np.arange(width, dtype=np.float32) + 0.5
    dx = cols - proj.vp
    if plane.frontal:
        depth = np.full(width, plane.position, np.float32)
        return dx * plane.position / proj.f, depth, np.ones(width, bool)
    # A side plane at X = p is seen, at depth f * p / dx, by the columns on its side.
    valid = dx * np.sign(plane.position) > 1e-3
    depth = np.where(valid, proj.f * plane.position / np.where(valid, dx, 1.0), np.inf)
    return depth, depth, valid


_SEGMENT_FIELDS = ("start", "end", "height", "wave", "phase", "inst", "spacing", "floor",
                   "win_width", "win_height", "shop")


def _segment_table(segments):
    """Segment attributes as columns of one float array, indexed by `_SEGMENT_FIELDS`."""
    none = Windows(1.0, 1.0, 0.0, 0.0, False)
    rows = []
    for s in segments:
        w = s.windows or none
        rows.append((s.start, s.end, s.height, s.wave, s.phase, s.inst, w.spacing, w.floor,
                     w.width, w.height, float(w.shop)))
    table = np.array(rows, np.float32).T.copy()
    return dict(zip(_SEGMENT_FIELDS, table))


def _draw_plane(raster, proj, plane):
    """Paints the segments of a vertical plane, with windows on buildings."""
    if not plane.segments:
        return
    height, width = raster.shape
    along, depth, valid = _plane_columns(proj, plane, width)
    seg = _segment_table(plane.segments)
    idx = np.minimum(np.searchsorted(seg["end"], along, side="right"), len(plane.segments) - 1)
    valid &= (along >= seg["start"][idx]) & (along < seg["end"][idx])
    cols = np.nonzero(valid)[0]
    if cols.size == 0:
        return
    along, depth, idx = along[cols], depth[cols], idx[cols]
    # Tree lines and hedges get a bumpy crown line instead of a flat roof.
    phase = seg["phase"][idx]
    tops = seg["height"][idx] + seg["wave"][idx] * (
        np.sin(0.45 * along + phase) + 0.5 * np.sin(1.3 * along + 2 * phase))
    rows = np.arange(height, dtype=np.float32)[:, None] + 0.5
    mask = (rows >= proj.y(tops, depth)[None]) & (rows < proj.y(0.0, depth)[None])
    r, c = np.nonzero(mask)
    if r.size == 0:
        return
    elevation = proj.cam_y - (r.astype(np.float32) + 0.5 - proj.hor) * depth[c] / proj.f
    code = seg["inst"][idx].astype(np.int32)[c] << _PART_BITS
    code |= _window_parts(seg, idx, along, tops, c, elevation)
    cc = cols[c]
    raster.code[r, cc] = code
    raster.su[r, cc] = along[c]
    raster.sv[r, cc] = elevation


def _window_parts(seg, idx, along, tops, c, elevation):
    """PART_WINDOW where a building segment's window grid (or shop front) has glass.

    Args:
      seg: a `_segment_table`.
      idx, along, tops: per column: segment index, position along the plane and height
        of the segment's top.
      c: per pixel: its column, an index into the per-column arrays.
      elevation: per pixel: height above the ground.

    Returns:
      uint8 part ids per pixel.
    """
    spacing, w_frac = seg["spacing"][idx], seg["win_width"][idx]
    offset = (along - seg["start"][idx]) / spacing
    u = offset - np.floor(offset)
    u_shop = 0.5 * offset - np.floor(0.5 * offset)
    # Which columns cut through a window column or a shop front: most columns do not.
    upper_col = np.abs(u - 0.5) < 0.5 * w_frac
    shop_col = (seg["shop"][idx] > 0) & (u_shop > 0.1) & (u_shop < 0.85)
    parts = np.zeros(c.shape, np.uint8)
    hit = np.nonzero((upper_col | shop_col)[c])[0]
    if hit.size == 0:
        return parts
    ch, elev = c[hit], elevation[hit]
    floor = seg["floor"][idx][ch]
    v = elev / floor
    v -= np.floor(v)
    upper = (upper_col[ch] & (v > 0.3) & (v < 0.3 + seg["win_height"][idx][ch])
             & (elev > floor) & (elev < tops[ch] - 0.8))
    lower = shop_col[ch] & (elev > 0.4) & (elev < 0.75 * floor)
    parts[hit[upper | lower]] = PART_WINDOW
    return parts


def _draw_attachment(raster, proj, pole, item):
    """A sign, traffic light or lamp arm on a pole."""
    z = pole.z
    cx, cy = proj.x(pole.x + item.offset, z), proj.y(item.height, z)
    if item.kind == "lamp":
        y_top = proj.y(pole.height, z)
        thick = max(proj.size(0.12, z), 1.0)
        x_end = proj.x(pole.x + item.size, z)
        region = _rect(raster, min(cx, x_end), y_top, max(cx, x_end), y_top + thick)
        raster.paint(region, item.inst)
        head = proj.size(0.25, z)
        raster.paint(_ellipse(raster, x_end, y_top + thick, head, 0.5 * head), item.inst,
                     PART_LIGHT)
        return
    half = 0.5 * proj.size(item.size, z)
    if item.kind == "light":
        w = 0.4 * half
        raster.paint(_rect(raster, cx - w, cy - half, cx + w, cy + half), item.inst)
        if half >= 3.0:
            lit = item.inst % 3  # which lamp is on: fixed by the layout, like its position
            for k in range(3):
                raster.paint(_ellipse(raster, cx, cy + (k - 1) * 0.62 * half, 0.6 * w, 0.6 * w),
                             item.inst, PART_LIGHT if k == lit else PART_GLASS)
        return
    raster.paint(_sign_region(raster, item.shape, cx, cy, half), item.inst)


def _sign_region(raster, shape, cx, cy, r):
    """Region of a sign face of half-size r centred at (cx, cy)."""
    if shape == "circle":
        return _ellipse(raster, cx, cy, r, r)
    if shape == "rect":
        return _rect(raster, cx - 1.2 * r, cy - 0.8 * r, cx + 1.2 * r, cy + 0.8 * r)
    if shape == "triangle":
        return _polygon(raster, [(cx, cy - r), (cx + r, cy + 0.8 * r), (cx - r, cy + 0.8 * r)])
    if shape == "diamond":
        return _polygon(raster, [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)])
    angles = np.pi / 8 + np.arange(8) * np.pi / 4
    return _polygon(raster, np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1))


def _draw_shadow(raster, proj, vehicle):
    """Marks the ground under a vehicle; the realistic domain darkens it."""
    x0, x1 = vehicle.x - vehicle.width / 2 - 0.2, vehicle.x + vehicle.width / 2 + 0.2
    z0, z1 = vehicle.z - 0.25, vehicle.z + vehicle.length + 0.25
    region = _polygon(raster, [proj.point(x, 0.0, z) for x, z in
                               ((x0, z0), (x1, z0), (x1, z1), (x0, z1))])
    if region is not None:
        rows, cols, mask = region
        raster.shadow[rows, cols] |= mask


def _visible_side(x0, x1):
    """The lateral coordinate of the box side the camera (at X = 0) sees, or None."""
    if x0 > 0:
        return x0
    if x1 < 0:
        return x1
    return None


def _draw_wheels(raster, proj, v, x0, x1, wheel_z, radius):
    """Tyres under the near face and wheel discs on the visible side."""
    z0 = v.z
    for a, b in ((x0 + 0.05, x0 + 0.32), (x1 - 0.32, x1 - 0.05)):
        raster.paint(_face(raster, proj, a, b, 0.0, radius + 0.1, z0 + 0.3), v.inst,
                     PART_TYRE)
    side = _visible_side(x0, x1)
    if side is None or proj.size(radius, z0) < 1.0:
        return
    for zc in wheel_z:
        # A disc on the side plane looks like an ellipse squeezed along the street.
        near, far = proj.x(side, zc - radius), proj.x(side, zc + radius)
        raster.paint(_ellipse(raster, 0.5 * (near + far), proj.y(radius, zc),
                              0.5 * abs(near - far), proj.size(radius, zc)), v.inst, PART_TYRE)


def _draw_lights(raster, proj, v, x0, x1, y):
    """Tail lights or headlights at the near-face corners."""
    if proj.size(v.width, v.z) < 2 * _DETAIL_PIXELS:
        return
    for a, b in ((x0 + 0.05, x0 + 0.35), (x1 - 0.35, x1 - 0.05)):
        raster.paint(_face(raster, proj, a, b, y - 0.15, y, v.z), v.inst, PART_LIGHT)


def _draw_car(raster, proj, v):
    """A car: body box, wheels, near face, lights, cabin and glass."""
    x0, x1 = v.x - v.width / 2, v.x + v.width / 2
    z0, z1 = v.z, v.z + v.length
    clearance, belt = 0.18, 0.15 + 0.55 * v.height
    raster.paint(_box(raster, proj, x0, x1, clearance, belt, z0, z1), v.inst, PART_SHADED)
    _draw_wheels(raster, proj, v, x0, x1, (z0 + 0.8, z1 - 0.8), 0.32)
    raster.paint(_face(raster, proj, x0, x1, clearance, belt, z0), v.inst)
    _draw_lights(raster, proj, v, x0, x1, belt - 0.08)
    inset = 0.1
    c0, c1 = x0 + inset, x1 - inset
    zc0, zc1 = z0 + 0.22 * v.length, z0 + 0.78 * v.length
    raster.paint(_box(raster, proj, c0, c1, belt, v.height, zc0, zc1), v.inst,
                 PART_SHADED)
    raster.paint(_face(raster, proj, c0 + 0.1, c1 - 0.1, belt + 0.05, v.height - 0.07, zc0),
                 v.inst, PART_GLASS)
    side = _visible_side(c0, c1)
    if side is not None:
        corners = ((belt + 0.05, zc0 + 0.1), (v.height - 0.07, zc0 + 0.35),
                   (v.height - 0.07, zc1 - 0.3), (belt + 0.05, zc1 - 0.05))
        raster.paint(_side_quad(raster, proj, side, corners), v.inst, PART_GLASS)


def _draw_bus(raster, proj, v):
    """A bus: one tall box with a band of windows along the side and the near face."""
    x0, x1 = v.x - v.width / 2, v.x + v.width / 2
    z0, z1 = v.z, v.z + v.length
    raster.paint(_box(raster, proj, x0, x1, 0.3, v.height, z0, z1), v.inst, PART_SHADED)
    _draw_wheels(raster, proj, v, x0, x1, (z0 + 2.0, z1 - 2.5), 0.5)
    raster.paint(_face(raster, proj, x0, x1, 0.3, v.height, z0), v.inst)
    lo, hi = 0.42 * v.height, 0.88 * v.height
    raster.paint(_face(raster, proj, x0 + 0.15, x1 - 0.15, lo, hi, z0), v.inst,
                 PART_GLASS)
    side = _visible_side(x0, x1)
    if side is not None:
        corners = ((lo, z0 + 0.4), (hi, z0 + 0.4), (hi, z1 - 0.4), (lo, z1 - 0.4))
        raster.paint(_side_quad(raster, proj, side, corners), v.inst, PART_GLASS)
    _draw_lights(raster, proj, v, x0, x1, 0.9)


def _draw_truck(raster, proj, v):
    """A truck: the cab at the far end, a cargo box at the near end."""
    x0, x1 = v.x - v.width / 2, v.x + v.width / 2
    z0, z1 = v.z, v.z + v.length
    z_split = z0 + 0.72 * v.length
    cab_top = 0.8 * v.height
    raster.paint(_box(raster, proj, x0 + 0.05, x1 - 0.05, 0.4, cab_top, z_split + 0.15, z1),
                 v.inst, PART_SHADED)
    side = _visible_side(x0 + 0.05, x1 - 0.05)
    if side is not None:
        corners = ((0.55 * v.height, z_split + 0.4), (cab_top - 0.15, z_split + 0.4),
                   (cab_top - 0.15, z1 - 0.4), (0.55 * v.height, z1 - 0.2))
        raster.paint(_side_quad(raster, proj, side, corners), v.inst, PART_GLASS)
    raster.paint(_box(raster, proj, x0, x1, 0.5, v.height, z0, z_split), v.inst,
                 PART_SHADED)
    _draw_wheels(raster, proj, v, x0, x1, (z0 + 1.2, z1 - 1.0), 0.5)
    raster.paint(_face(raster, proj, x0, x1, 0.5, v.height, z0), v.inst)
    _draw_lights(raster, proj, v, x0, x1, 0.75)


def _draw_bicycle(raster, proj, bike):
    """Two wheel rings and a diamond frame, seen from the side."""
    z, s, r = bike.z, bike.facing, 0.34
    rear, front = (bike.x - s * 0.52, r), (bike.x + s * 0.52, r)
    crank, seat, head = (bike.x - s * 0.1, r), (bike.x - s * 0.22, 0.9), (bike.x + s * 0.38, 0.92)
    for cx, cy in (rear, front):
        rr = proj.size(r, z)
        raster.paint(_ellipse(raster, proj.x(cx, z), proj.y(cy, z), rr, rr, 0.8), bike.inst,
                     PART_TYRE)
    for p, q in ((rear, crank), (crank, seat), (seat, rear), (seat, head), (crank, head),
                 (head, front)):
        raster.paint(_segment(raster, proj, p, q, z, 0.05), bike.inst)


def _draw_rider(raster, proj, bike):
    """A rider leaning over the handlebars."""
    z, s, h = bike.z, bike.facing, bike.rider_height / 1.75
    hip, shoulder = (bike.x - s * 0.2, 0.98 * h), (bike.x + s * 0.08, 1.5 * h)
    hand, foot = (bike.x + s * 0.36, 1.0), (bike.x - s * 0.05, 0.35)
    paint = raster.paint
    paint(_segment(raster, proj, hip, foot, z, 0.16), bike.rider_inst, PART_BOTTOM)
    paint(_segment(raster, proj, hip, shoulder, z, 0.34), bike.rider_inst, PART_TOP)
    paint(_segment(raster, proj, shoulder, hand, z, 0.1), bike.rider_inst, PART_TOP)
    head = proj.size(0.12 * h, z)
    paint(_ellipse(raster, proj.x(shoulder[0] + s * 0.07, z), proj.y(1.68 * h, z), head,
                   1.15 * head), bike.rider_inst, PART_SKIN)


# === Appearance ===


@dataclasses.dataclass(frozen=True)
class Palette:
    """Colours of one domain.

    Attributes:
      kinds: instance kind -> candidate RGB colours; each instance picks one.
      parts: default RGB colour of each part, [NUM_PARTS, 3].
      clothes: candidate colours of clothes (PART_TOP, PART_BOTTOM).
      lights: instance kind -> RGB of its PART_LIGHT.
      jitter: standard deviation of the per-instance brightness jitter (a quarter of it
        goes to each channel on its own).
      shade: brightness of PART_SHADED (sides and tops of vehicles) relative to the base.
    """

    kinds: dict
    parts: np.ndarray
    clothes: tuple
    lights: dict
    jitter: float
    shade: float


def _parts(colours):
    """A [NUM_PARTS, 3] table from {part id: RGB}; unlisted parts are black."""
    table = np.zeros((NUM_PARTS, 3), np.float32)
    for part, rgb in colours.items():
        table[part] = rgb
    return table


# Game-like: saturated, bright, clean. A sign's kind fixes its colour scheme.
_SYNTHETIC = Palette(
    kinds={
        "sky": [(95, 170, 245)],
        "road": [(88, 86, 100)],
        "sidewalk": [(200, 168, 152)],
        "terrain": [(150, 205, 75)],
        "building": [(214, 140, 90), (226, 204, 140), (170, 170, 195), (205, 110, 110),
                     (236, 228, 210), (130, 165, 205)],
        "wall": [(195, 178, 140)],
        "fence": [(170, 125, 70)],
        "treeline": [(60, 175, 65)], "tree": [(60, 175, 65)], "bush": [(75, 185, 60)],
        "hedge": [(55, 160, 70)],
        "pole": [(125, 125, 140)],
        "traffic_light": [(45, 45, 45)],
        "sign_circle": [(225, 35, 35)], "sign_rect": [(35, 85, 215)],
        "sign_triangle": [(250, 215, 40)], "sign_diamond": [(250, 190, 0)],
        "sign_octagon": [(210, 20, 30)],
        "person": [(200, 200, 200)], "rider": [(200, 200, 200)],
        "car": [(215, 30, 30), (30, 60, 205), (240, 240, 240), (28, 28, 34), (180, 182, 195),
                (240, 200, 20), (30, 155, 65)],
        "bus": [(245, 185, 20)], "truck": [(235, 235, 235), (60, 110, 200)],
        "bicycle": [(30, 30, 30), (200, 30, 30)],
    },
    parts=_parts({PART_WINDOW: (70, 115, 180), PART_GLASS: (45, 62, 95),
                  PART_TYRE: (22, 22, 22), PART_LIGHT: (255, 40, 40),
                  PART_MARKING: (240, 240, 240), PART_KERB: (172, 172, 180),
                  PART_TRUNK: (125, 82, 45), PART_SKIN: (236, 188, 150)}),
    clothes=((205, 40, 40), (40, 60, 205), (245, 205, 40), (30, 30, 30), (240, 240, 240),
             (50, 165, 80), (160, 60, 190)),
    lights={"car_front": (255, 250, 200), "traffic_light": (40, 230, 60), "pole": (255, 245, 180)},
    jitter=6.0,
    shade=0.8,
)

# Photograph-like: duller, darker and greyer, with hues moved off the synthetic ones (warm
# grey asphalt and paving, paler sky, olive foliage, mostly neutral cars). Halfway between
# the synthetic palette and a photograph's: a model trained on synthetic colours alone does
# badly on these, but not so badly that adaptation has nothing to start from.
_REALISTIC = Palette(
    kinds={
        "sky": [(130, 172, 222), (112, 160, 220), (168, 192, 220), (104, 146, 206)],
        "road": [(84, 82, 80), (94, 90, 86), (76, 77, 78)],
        "sidewalk": [(150, 142, 134), (164, 152, 140), (140, 136, 130)],
        "terrain": [(118, 140, 66), (130, 142, 80)],
        "building": [(164, 144, 131), (178, 160, 146), (152, 135, 126), (172, 129, 113),
                     (186, 170, 158), (140, 136, 136), (162, 149, 139)],
        "wall": [(168, 160, 140), (150, 142, 124)],
        "fence": [(120, 112, 90), (134, 110, 80)],
        "treeline": [(66, 118, 54)], "tree": [(70, 124, 56), (80, 130, 60)],
        "bush": [(72, 122, 52)], "hedge": [(60, 112, 58)],
        "pole": [(108, 110, 112), (96, 98, 102)],
        "traffic_light": [(38, 40, 38)],
        "sign_circle": [(200, 44, 48)], "sign_rect": [(40, 84, 170)],
        "sign_triangle": [(232, 210, 120)], "sign_diamond": [(228, 190, 50)],
        "sign_octagon": [(184, 34, 40)],
        "person": [(150, 150, 150)], "rider": [(150, 150, 150)],
        "car": [(40, 40, 42), (186, 184, 180), (132, 130, 128), (84, 92, 110), (140, 60, 60),
                (106, 104, 96), (160, 156, 144)],
        "bus": [(214, 196, 120), (180, 60, 50)], "truck": [(190, 192, 196), (110, 124, 150)],
        "bicycle": [(40, 40, 40), (100, 60, 60)],
    },
    parts=_parts({PART_WINDOW: (58, 80, 110), PART_GLASS: (42, 50, 62),
                  PART_TYRE: (24, 24, 24), PART_LIGHT: (200, 40, 36),
                  PART_MARKING: (216, 216, 210), PART_KERB: (156, 154, 150),
                  PART_TRUNK: (90, 70, 50), PART_SKIN: (205, 165, 140)}),
    clothes=((38, 38, 44), (70, 72, 92), (112, 92, 72), (150, 150, 154), (122, 42, 40),
             (62, 82, 62), (190, 186, 176)),
    lights={"car_front": (226, 226, 212), "traffic_light": (60, 200, 120),
            "pole": (230, 226, 200)},
    jitter=10.0,
    shade=0.68,
)
PALETTES = {"synthetic": _SYNTHETIC, "realistic": _REALISTIC}
# Instance kinds with no palette entry of their own borrow another kind's colours.
_KIND_ALIASES = {"car_front": "car"}


@functools.lru_cache(maxsize=None)
def _palette_arrays(domain):
    """A domain's palette as flat arrays, so that colouring needs no per-instance loop.

    Returns:
      (kind index, colours [K, 3], first colour of each kind, colour count of each kind,
      light colour of each kind, whether each kind has its own light colour).
    """
    palette = PALETTES[domain]
    kinds = sorted(palette.kinds) + sorted(_KIND_ALIASES)
    index = {kind: k for k, kind in enumerate(kinds)}
    colours, first, count, light, has_light = [], [], [], [], []
    for kind in kinds:
        choices = palette.kinds[_KIND_ALIASES.get(kind, kind)]
        first.append(len(colours))
        count.append(len(choices))
        colours += choices
        light.append(palette.lights.get(kind, (0, 0, 0)))
        has_light.append(kind in palette.lights)
    return (index, np.array(colours, np.float32), np.array(first), np.array(count),
            np.array(light, np.float32), np.array(has_light))


def shade(raster, layout, domain, seed):
    """Colours a raster in one domain.

    Args:
      raster: a `Raster` from `rasterize`.
      layout: the `Layout` it was rasterised from.
      domain: "synthetic" or "realistic".
      seed: the scene seed; with the domain it seeds the appearance RNG.

    Returns:
      uint8 [H, W, 3] RGB image.
    """
    _check_domain(domain)
    rng = np.random.default_rng(
        np.random.SeedSequence([int(seed), _APPEARANCE_STREAM, DOMAINS.index(domain)]))
    table = _colour_table(layout.instances, domain, rng)
    if domain == "synthetic":
        # Flat colours straight from the palette: hard edges, no noise.
        return np.rint(table).astype(np.uint8)[raster.code]
    # White balance and saturation are linear in colour and everything after them only
    # scales pixels, so they are applied to the few table entries, not to every pixel.
    balance = _white_balance(rng)
    # Three multiply-adds rather than a matrix product: no BLAS threads in worker processes.
    table = table[:, :1] * balance[0] + table[:, 1:2] * balance[1] + table[:, 2:] * balance[2]
    return _photograph(table[raster.code], raster, layout, rng)


def _white_balance(rng):
    """A [3, 3] matrix (for row vectors) of exposure, colour temperature and saturation."""
    temp = rng.uniform(-1.0, 1.0)
    gains = np.array([1 + 0.09 * temp, 1.0, 1 - 0.09 * temp]) * rng.uniform(0.85, 1.25)
    sat = rng.uniform(0.7, 1.0)
    desaturate = sat * np.eye(3) + (1 - sat) / 3.0
    # desaturate @ diag(gains), transposed to act on row vectors.
    return (desaturate * gains[None, :]).T.astype(np.float32)


def _colour_table(instances, domain, rng):
    """RGB per pixel code (instance, part): each instance picks a palette colour and jitters it.

    Returns:
      float32 [len(instances) << _PART_BITS, 3], clipped to [0, 255].
    """
    palette = PALETTES[domain]
    index, colours, first, count, light, has_light = _palette_arrays(domain)
    n = len(instances)
    kinds = np.array([index[instance.kind] for instance in instances])
    picks = rng.random((n, 3))
    base = colours[first[kinds] + (picks[:, 0] * count[kinds]).astype(int)]
    # Mostly brightness, a little hue: a grey road should stay grey.
    jitter = rng.normal(0.0, palette.jitter, (n, 1)) + rng.normal(0.0, palette.jitter / 4, (n, 3))
    base += jitter.astype(np.float32)
    table = np.zeros((n, 1 << _PART_BITS, 3), np.float32)
    table[:, :NUM_PARTS] = palette.parts * rng.normal(1.0, 0.04, (n, 1, 1))
    table[:, PART_BASE] = base
    table[:, PART_SHADED] = base * palette.shade
    clothes = np.asarray(palette.clothes, np.float32)
    table[:, PART_TOP] = clothes[(picks[:, 1] * len(clothes)).astype(int)]
    table[:, PART_BOTTOM] = 0.8 * clothes[(picks[:, 2] * len(clothes)).astype(int)]
    lit = has_light[kinds]
    table[lit, PART_LIGHT] = light[kinds[lit]]
    return np.clip(table, 0.0, 255.0).reshape(-1, 3)


class _Noise:
    """Smooth value noise from a random lattice, sampled at any real coordinates."""

    _BITS = 7  # lattice period 128: a power of two, so that wrapping is a bitwise and

    def __init__(self, rng):
        size = 1 << self._BITS
        self.table = rng.random(size * size, dtype=np.float32)

    def _wrap(self, i):
        return i & ((1 << self._BITS) - 1)

    def cell(self, u, v):
        """A random value constant over each unit cell (tiles, bricks, windows)."""
        iu, iv = np.floor(u).astype(np.int32), np.floor(v).astype(np.int32)
        return self.table[(self._wrap(iv) << self._BITS) | self._wrap(iu)]

    def value(self, u, v):
        """Smoothly interpolated noise in [0, 1] with features about one unit wide."""
        fu, fv = np.floor(u), np.floor(v)
        tu, tv = u - fu, v - fv
        tu *= tu * (3 - 2 * tu)
        tv *= tv * (3 - 2 * tv)
        iu, iv = fu.astype(np.int32), fv.astype(np.int32)
        u0, u1 = self._wrap(iu), self._wrap(iu + 1)
        v0, v1 = self._wrap(iv) << self._BITS, self._wrap(iv + 1) << self._BITS
        t = self.table
        a, b, c, d = t[v0 | u0], t[v0 | u1], t[v1 | u0], t[v1 | u1]
        top = a + (b - a) * tu
        return top + (c + (d - c) * tu - top) * tv


@functools.lru_cache(maxsize=32)
def _lerp_weights(size, cell):
    """Lattice indices and weights that linearly interpolate `size` pixels from a lattice
    spaced `cell` pixels apart."""
    pos = (np.arange(size) + 0.5) / cell
    lower = np.floor(pos).astype(np.intp)
    return lower, (pos - lower).astype(np.float32)


def _screen_noise(rng, height, width, cell_y, cell_x):
    """Smooth noise in [0, 1] over the image with features of about cell_y x cell_x pixels.

    Interpolating a small random lattice, one axis at a time, is far cheaper than
    evaluating lattice noise at every pixel.
    """
    rows, row_t = _lerp_weights(height, cell_y)
    cols, col_t = _lerp_weights(width, cell_x)
    lattice = rng.random((rows[-1] + 2, cols[-1] + 2), dtype=np.float32)
    top, bottom = lattice[rows], lattice[rows + 1]
    grid = top + (bottom - top) * row_t[:, None]
    left, right = grid[:, cols], grid[:, cols + 1]
    return left + (right - left) * col_t


@functools.lru_cache(maxsize=8)
def _pixel_grid(height, width):
    """Pixel rows and columns as fractions of the height and width, float32 [H, W] each
    (shared between calls: never modify)."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    v, u = (v + 0.5) / height, (u + 0.5) / width
    v.flags.writeable = u.flags.writeable = False
    return v, u


def _photograph(image, raster, layout, rng):
    """Turns flat colours into a photograph-like image.

    Textures first (they live on the surfaces), then lighting (per image and per side of
    the street), then the camera: light falloff, blur, sensor noise and a tone curve.

    Args:
      image: float32 [H, W, 3] flat colours.
      raster: the `Raster`.
      layout: the `Layout`.
      rng: the appearance RNG.

    Returns:
      uint8 [H, W, 3].
    """
    noise = _Noise(rng)
    height, width = raster.shape
    # Per-pixel grain and a smooth field, shared by every texture that needs no surface.
    fine = rng.random((height, width), dtype=np.float32)
    coarse = _screen_noise(rng, height, width, 4.0, 5.0)
    light = _textures(raster, noise, fine, coarse, rng)
    light *= _lighting(raster, rng)
    image *= light[..., None]
    _sky(image, raster, rng, layout.camera.horizon)
    _vegetation_colour(image, raster, coarse)
    return _camera(image, rng)


def _textures(raster, noise, fine, coarse, rng):
    """A multiplicative brightness map with a texture per class and surface."""
    label, part, surface = raster.label, raster.part, raster.surface
    su, sv = raster.su, raster.sv
    tex = 0.93 + 0.14 * coarse
    ground = surface == SURFACE_GROUND
    plane = surface == SURFACE_PLANE

    m = ground & (label == ROAD)
    tex[m] *= 0.8 + 0.26 * fine[m] + 0.3 * (noise.value(su[m] / 1.7, sv[m] / 1.7) - 0.5)

    m = ground & (label == SIDEWALK)
    tu, tv = su[m] / 0.5, sv[m] / 0.5
    joint = (np.mod(tu, 1.0) < 0.08) | (np.mod(tv, 1.0) < 0.08)
    tex[m] *= (0.9 + 0.18 * noise.cell(tu + 60.0, tv)) * np.where(joint, 0.78, 1.0) * \
        (0.9 + 0.2 * fine[m])

    m = label == TERRAIN
    tex[m] *= 0.7 + 0.45 * fine[m] + 0.25 * (coarse[m] - 0.5)

    m = plane & ((label == BUILDING) | (label == WALL)) & (part == PART_BASE)
    tex[m] *= _facade(noise, su[m], sv[m], raster.inst[m], rng)
    m = plane & (part == PART_WINDOW)
    tex[m] *= 0.55 + 0.8 * noise.cell(su[m] / 2.5 + 11.0, sv[m] / 3.2) + 0.15 * fine[m]
    m = plane & (label == FENCE)
    bars = np.mod(su[m] / 0.16, 1.0) < 0.4
    rail = np.mod(sv[m], 0.9) < 0.12
    tex[m] *= np.where(bars | rail, 0.62, 1.12)

    m = (label == VEGETATION) & (part != PART_TRUNK)
    tex[m] *= 0.45 + 0.75 * fine[m] + 0.4 * (coarse[m] - 0.5)

    m = _OBJECT_LABELS[label]
    tex[m] *= 0.9 + 0.18 * coarse[m]
    m = part == PART_GLASS
    tex[m] *= 0.75 + 0.6 * fine[m]
    return tex


# Classes textured as painted or metal objects.
_OBJECT_LABELS = np.zeros(256, bool)
_OBJECT_LABELS[[CAR, TRUCK, BUS, BICYCLE, PERSON, RIDER, POLE, TRAFFIC_SIGN,
                TRAFFIC_LIGHT]] = True


def _facade(noise, su, sv, inst, rng):
    """Plaster or brick, floor ledges and grime near the ground, for facade pixels."""
    brick_inst = rng.random(int(inst.max(initial=0)) + 1) < 0.35
    brick = brick_inst[inst]
    course = np.floor(sv / 0.25)
    bu = su / 0.55 + 0.5 * np.mod(course, 2.0)
    mortar = (sv / 0.25 - course < 0.16) | (np.mod(bu, 1.0) < 0.08)
    brick_tex = (0.86 + 0.25 * noise.cell(bu + 90.0, course)) * np.where(mortar, 0.74, 1.0)
    plaster = 0.88 + 0.22 * noise.value(su / 0.7 + 21.0, sv / 0.7)
    plaster *= np.where(np.mod(sv, 3.3) < 0.16, 0.8, 1.0)  # floor ledges
    grime = 0.72 + 0.28 * np.clip(sv / 1.5, 0.0, 1.0)
    return np.where(brick, brick_tex, plaster) * grime


def _sky(image, raster, rng, horizon):
    """Sky brighter and whiter towards the horizon, with soft clouds (in place).

    Args:
      image: float32 [H, W, 3].
      raster: the `Raster`.
      rng: the appearance RNG.
      horizon: horizon row as a fraction of the image height.
    """
    height, width = raster.shape
    m = raster.label == SKY
    v, _ = _pixel_grid(height, width)
    t = np.clip(v[m] / max(horizon, 1e-3), 0.0, 1.0)[:, None]
    sky = image[m] * (0.82 + 0.25 * t) + 30.0 * t
    cloud = _screen_noise(rng, height, width, 9.0, 24.0) + \
        0.5 * _screen_noise(rng, height, width, 4.0, 9.0)
    cover = 0.85 * np.clip((cloud[m] - 0.75) / 0.5, 0.0, 1.0)[:, None]
    image[m] = sky * (1.0 - cover) + 232.0 * cover


def _vegetation_colour(image, raster, coarse):
    """Patches of yellower and bluer green in foliage and grass (in place)."""
    m = ((raster.label == VEGETATION) & (raster.part != PART_TRUNK)) | \
        (raster.label == TERRAIN)
    image[m] += (coarse[m] - 0.5)[:, None] * np.array([50.0, 30.0, -16.0], np.float32)


def _lighting(raster, rng):
    """Per-pixel light: sunny and shaded sides of the street, and shadows under vehicles."""
    sun = 1 if rng.random() < 0.5 else -1  # lateral direction the sun shines from
    ground = raster.surface == SURFACE_GROUND
    if rng.random() < 0.7:
        lit, shaded, edge = 1.12, 0.7, rng.uniform(-3.0, 8.0)
    else:  # overcast: little difference between the two sides
        lit, shaded, edge = 1.02, 0.9, np.inf
    # Index by side + 1: facades facing the sun are lit, the others are in shade; frontal
    # planes and everything else get the light in between.
    by_side = np.array([lit, 0.94, shaded] if sun > 0 else [shaded, 0.94, lit], np.float32)
    light = by_side[raster.side + 1]
    light[raster.surface != SURFACE_PLANE] = 1.0
    # Buildings on the sun's side shade the street next to them.
    light[ground & (raster.su * sun > edge)] = 0.62
    # The camera's blur softens the edges of the shadows under vehicles.
    light[ground & raster.shadow] *= 0.45
    return light


def _camera(image, rng):
    """A light gradient, vignetting, lens blur, sensor noise and a tone curve.

    Args:
      image: float32 [H, W, 3] scene radiance in 0..255.
      rng: the appearance RNG.

    Returns:
      uint8 [H, W, 3].
    """
    height, width = image.shape[:2]
    v, u = _pixel_grid(height, width)
    angle = rng.uniform(0.0, 2 * np.pi)
    field = 1.0 + rng.uniform(0.1, 0.3) * ((u - 0.5) * np.cos(angle) + (v - 0.5) * np.sin(angle))
    field *= 1.0 - rng.uniform(0.15, 0.4) * ((u - 0.5) ** 2 + 0.5 * (v - 0.5) ** 2) / 0.375
    image *= field[..., None]
    image = _blur(image, rng.uniform(0.45, 0.85))
    image += rng.uniform(2.0, 5.0) * rng.standard_normal(image.shape, dtype=np.float32)
    np.clip(image, 0.0, 255.0, out=image)
    tone = np.rint(255.0 * (np.arange(256) / 255.0) ** rng.uniform(0.85, 1.15))
    return tone.astype(np.uint8)[(image + 0.5).astype(np.uint8)]


def _blur(image, sigma):
    """Separable Gaussian blur of an [H, W, C] float32 image (edges replicated)."""
    radius = max(1, int(round(2.0 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    height, width = image.shape[:2]
    padded = np.pad(image, ((radius, radius), (0, 0), (0, 0)), mode="edge")
    out = padded[:height] * taps[0]
    for k in range(1, len(taps)):
        out += padded[k:k + height] * taps[k]
    padded = np.pad(out, ((0, 0), (radius, radius), (0, 0)), mode="edge")
    out = padded[:, :width] * taps[0]
    for k in range(1, len(taps)):
        out += padded[:, k:k + width] * taps[k]
    return out


# === Entry points ===


def _check_domain(domain):
    if domain not in DOMAINS:
        raise ValueError(f"Unknown domain {domain!r}; choose one of {DOMAINS}.")


def render_scene(seed, domain, height=128, width=256):
    """Renders one street scene.

    The label depends only on (seed, height, width); the domain changes appearance only.

    Args:
      seed: a non-negative integer; the same arguments always give the same output.
      domain: "synthetic" or "realistic".
      height: image height in pixels.
      width: image width in pixels.

    Returns:
      (image, label): uint8 [height, width, 3] RGB and uint8 [height, width] trainIds.
    """
    _check_domain(domain)
    layout = sample_layout(seed)
    raster = rasterize(layout, height, width)
    return shade(raster, layout, domain, seed), raster.label


def colorize_labels(label):
    """Cityscapes colours for a trainId map (void and unknown ids black), for previews.

    Args:
      label: uint8 [H, W] trainIds.

    Returns:
      uint8 [H, W, 3] RGB.
    """
    lut = np.zeros((256, 3), np.uint8)
    lut[:len(CITYSCAPES_COLORS)] = CITYSCAPES_COLORS
    return lut[label]
