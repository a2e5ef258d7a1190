"""Layout sampling: what goes where in a street, drawn from a seed alone.

`sample_layout(seed)` draws the camera, the ground bands (road, verges, sidewalks), the
vertical planes (facades, tree lines, fences, walls) and the things (trees, poles with
signs and lights, vehicles, people, bicycles) from one *layout* RNG. The domain is not an
argument, so all domains share one layout distribution and one label map per seed.

Every random number a layout needs is drawn here, in a fixed order: changing the order of
the draws changes every scene of the dataset.
"""

import dataclasses

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import ids
from gta_keras.datasets.procedural_streets.scene_renderer import street

# Mixed into the seed so that the layout and appearance RNGs of one scene never share
# random numbers (the appearance stream lives in `shading`).
_LAYOUT_STREAM = 0x1A7


class _Registry:
    """Hands out instance ids while a layout is sampled."""

    def __init__(self):
        self.instances = []

    def add(self, label, kind, surface=ids.SURFACE_NONE, side=0):
        self.instances.append(street.Instance(label, kind, surface, side))
        return len(self.instances) - 1


def sample_layout(seed):
    """Draws a street layout; the same seed always gives the same layout.

    Args:
      seed: a non-negative integer.

    Returns:
      A `street.Layout`.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _LAYOUT_STREAM]))
    registry = _Registry()
    registry.add(ids.SKY, "sky")
    camera = street.Camera(
        horizon=rng.uniform(0.36, 0.47), vanishing_x=rng.uniform(0.4, 0.6),
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
    return street.Layout(camera, ground, tuple(planes + front_planes + edge_planes),
                         tuple(things), tuple(registry.instances))


def _sample_ground(rng, registry):
    """Road width and position, verges, sidewalks, markings and a possible crossing."""
    half = rng.uniform(3.5, 7.5)
    # The camera rides in a lane, never on the kerb.
    offset = rng.uniform(-0.5, 0.5) * (half - 1.6)
    insts = tuple(registry.add(label, kind, ids.SURFACE_GROUND) for label, kind in
                  ((ids.ROAD, "road"), (ids.SIDEWALK, "sidewalk"), (ids.TERRAIN, "terrain")))
    verge = tuple(rng.uniform(0.8, 2.5) if rng.random() < 0.25 else 0.0 for _ in range(2))
    sidewalk = tuple(rng.uniform(1.5, 4.5) for _ in range(2))
    zone = tuple(ids.TERRAIN if rng.random() < 0.5 else ids.SIDEWALK for _ in range(2))
    crosswalk = None
    if rng.random() < 0.3:
        z0 = rng.uniform(7.0, 28.0)
        crosswalk = (z0, z0 + rng.uniform(2.5, 4.0))
    return street.Ground(
        road_left=-half - offset, road_right=half - offset, verge=verge, sidewalk=sidewalk,
        zone_label=zone, centre_line=-offset if rng.random() < 0.7 else None,
        edge_lines=bool(rng.random() < 0.5), crosswalk=crosswalk, insts=insts)


def _sample_windows(rng):
    """Window grid of one facade: one draw of five uniforms, mapped to their ranges."""
    u = rng.random(5)
    return street.Windows(spacing=1.6 + 1.9 * u[0], floor=2.8 + 0.8 * u[1],
                          width=0.3 + 0.35 * u[2], height=0.35 + 0.25 * u[3],
                          shop=bool(u[4] < 0.4))


def _sample_run(rng, registry, start, end, choose, side):
    """Segments of a plane on `side` (0: frontal) covering [start, end).

    `choose(rng)` gives (label, kind, length, height, wave); a label of None is a gap.
    """
    segments, z = [], start
    while z < end:
        spec = choose(rng)
        label, kind, length, height, wave = spec
        if label is not None:
            windows = _sample_windows(rng) if label == ids.BUILDING else None
            segments.append(street.Segment(
                z, min(z + length, end), height, label,
                registry.add(label, kind, ids.SURFACE_PLANE, side), wave,
                rng.uniform(0, 2 * np.pi), windows))
        z += length
    return tuple(segments)


def _building(rng, low, high):
    return (ids.BUILDING, "building", rng.uniform(6.0, 28.0), rng.uniform(low, high), 0.0)


def _tree_line(rng, low, high):
    return (ids.VEGETATION, "treeline", rng.uniform(8.0, 30.0), rng.uniform(low, high),
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
    return street.Plane(z_end, True, _sample_run(rng, registry, -reach, reach, choose, 0))


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
            return (ids.FENCE, "fence", length, rng.uniform(1.0, 2.0), 0.0)
        if u < 0.86:
            return (ids.WALL, "wall", length, rng.uniform(0.6, 2.2), 0.0)
        return (ids.VEGETATION, "hedge", length, rng.uniform(0.8, 1.6), 0.2)

    back = street.Plane(side * (facade + back_depth), False,
                        _sample_run(rng, registry, 0.5, z_end, choose_back, side))
    front = street.Plane(side * facade, False,
                         _sample_run(rng, registry, 0.5, z_end, choose_front, side))
    edge_end = z_end if park else 0.6 * z_end
    edge = street.Plane(side * outer, False,
                        _sample_run(rng, registry, rng.uniform(0.0, 10.0), edge_end,
                                    choose_edge, side))
    if park and not edge.segments:
        edge = street.Plane(side * outer, False, (street.Segment(
            2.0, z_end, rng.uniform(1.0, 1.8), ids.FENCE,
            registry.add(ids.FENCE, "fence", ids.SURFACE_PLANE, side)),))
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
    return street.Tree(x, z, trunk, rng.uniform(0.2, 0.4), blobs,
                       registry.add(ids.VEGETATION, "bush" if bush else "tree"))


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
            items.append(street.Attachment("sign", shape, top - size / 2, size, 0.0,
                                           registry.add(ids.TRAFFIC_SIGN, "sign_" + shape)))
            top -= size + 0.1
        return pole_height, items
    if u < 0.75:
        pole_height, size = rng.uniform(3.0, 5.5), rng.uniform(0.8, 1.1)
        return pole_height, [street.Attachment(
            "light", "", pole_height - size / 2, size, 0.0,
            registry.add(ids.TRAFFIC_LIGHT, "traffic_light"))]
    # A street lamp's arm reaches over the road, towards the camera axis.
    pole_height = rng.uniform(5.0, 8.0)
    return pole_height, [street.Attachment(
        "lamp", "", pole_height, -side * rng.uniform(0.8, 2.0), 0.0, -1)]


def _sample_poles(rng, registry, ground, z_end):
    """Sign poles, traffic lights and street lamps near the kerb."""
    poles = []
    for side in (-1, 1):
        inner, _ = ground.sidewalk_span(side)
        for _ in range(int(rng.integers(2, 8))):
            z = 3.0 + (min(z_end, 70.0) - 3.0) * rng.random() ** 1.3
            inst = registry.add(ids.POLE, "pole")
            height, items = _sample_attachments(rng, registry, side)
            items = [dataclasses.replace(item, inst=inst) if item.kind == "lamp" else item
                     for item in items]
            poles.append(street.Pole(side * (inner + rng.uniform(0.25, 0.6)), z, height,
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
        label = street.VEHICLE_LABELS[kind]
        facing_front = front if front is not None else bool(rng.random() < 0.5)
        kind_name = kind + ("_front" if facing_front and kind == "car" else "")
        vehicles.append(street.Vehicle(x_of_width(width), z, width, length, height, kind,
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
        people.append(street.Person(side * d, z, rng.uniform(1.5, 1.95),
                                    rng.uniform(-1.0, 1.0), registry.add(ids.PERSON, "person")))
    if ground.crosswalk is not None:
        z0, z1 = ground.crosswalk
        for _ in range(int(rng.integers(0, 4))):
            people.append(street.Person(
                rng.uniform(ground.road_left + 0.5, ground.road_right - 0.5),
                rng.uniform(z0 + 0.3, z1 - 0.3), rng.uniform(1.5, 1.95),
                rng.uniform(-1.0, 1.0), registry.add(ids.PERSON, "person")))
    return people


def _sample_bicycles(rng, registry, ground):
    """A cyclist crossing the road now and then, and the odd parked bicycle."""
    bicycles = []
    if rng.random() < 0.3:
        inst = registry.add(ids.BICYCLE, "bicycle")
        rider = registry.add(ids.RIDER, "rider")
        x = rng.uniform(ground.road_left + 1.0, ground.road_right - 1.0)
        bicycles.append(street.Bicycle(x, rng.uniform(6.0, 30.0),
                                       1 if rng.random() < 0.5 else -1,
                                       inst, rider, rng.uniform(1.6, 1.9)))
    if rng.random() < 0.2:
        side = 1 if rng.random() < 0.5 else -1
        _, outer = ground.sidewalk_span(side)
        bicycles.append(street.Bicycle(side * (outer - 0.5), rng.uniform(4.0, 30.0),
                                       1 if rng.random() < 0.5 else -1,
                                       registry.add(ids.BICYCLE, "bicycle"), -1, 0.0))
    return bicycles
