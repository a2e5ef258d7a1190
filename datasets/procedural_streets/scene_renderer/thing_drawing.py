"""Painting the things of a layout: trees, poles, people, vehicles and bicycles.

`draw_thing(raster, proj, thing)` paints one `street` thing into a `geometry.Raster`: its
instance id everywhere it covers, and part ids (windows, tyres, lights, skin, clothes)
where the appearance should differ while the label stays the object's. `drawing.rasterize`
calls it far to near, so nearer things cover farther ones.
"""

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import geometry
from gta_keras.datasets.procedural_streets.scene_renderer import ids
from gta_keras.datasets.procedural_streets.scene_renderer import street

# Objects narrower than this many pixels are drawn without details (windows, wheels).
_DETAIL_PIXELS = 6.0


def draw_thing(raster, proj, thing):
    """Paints one thing of a layout.

    Args:
      raster: the `geometry.Raster` to paint into.
      proj: the `geometry.Projector` of the layout's camera at the raster's size.
      thing: a `street.Tree`, `Pole`, `Person`, `Vehicle` or `Bicycle`.
    """
    _PAINTERS[type(thing)](raster, proj, thing)


# === Trees and poles ===


def _draw_tree(raster, proj, tree):
    """A trunk (none for a bush) and a crown of overlapping ellipses."""
    if tree.trunk_height > 0:
        cx, half = proj.x(tree.x, tree.z), 0.5 * proj.size(tree.trunk_width, tree.z)
        region = geometry.rect(raster, cx - half, proj.y(tree.trunk_height, tree.z),
                               cx + half, proj.y(0.0, tree.z))
        raster.paint(region, tree.inst, ids.PART_TRUNK)
    blobs = np.array(tree.blobs, np.float32)
    centres_x = proj.x(tree.x + blobs[:, 0], tree.z)
    centres_y = proj.y(blobs[:, 1], tree.z)
    radii = np.maximum(proj.size(blobs[:, 2], tree.z), 0.5)
    raster.paint(geometry.ellipses(raster, centres_x, centres_y, radii, 0.85 * radii),
                 tree.inst)


def _draw_pole(raster, proj, pole):
    """The pole, then what is mounted on it."""
    cx, half = proj.x(pole.x, pole.z), 0.5 * proj.size(pole.width, pole.z)
    region = geometry.rect(raster, cx - half, proj.y(pole.height, pole.z),
                           cx + half, proj.y(0.0, pole.z))
    raster.paint(region, pole.inst)
    for item in pole.attachments:
        _draw_attachment(raster, proj, pole, item)


def _draw_attachment(raster, proj, pole, item):
    """A sign, traffic light or lamp arm on a pole."""
    z = pole.z
    cx, cy = proj.x(pole.x + item.offset, z), proj.y(item.height, z)
    if item.kind == "lamp":
        y_top = proj.y(pole.height, z)
        thick = max(proj.size(0.12, z), 1.0)
        x_end = proj.x(pole.x + item.size, z)
        region = geometry.rect(raster, min(cx, x_end), y_top, max(cx, x_end), y_top + thick)
        raster.paint(region, item.inst)
        head = proj.size(0.25, z)
        raster.paint(geometry.ellipse(raster, x_end, y_top + thick, head, 0.5 * head),
                     item.inst, ids.PART_LIGHT)
        return
    half = 0.5 * proj.size(item.size, z)
    if item.kind == "light":
        w = 0.4 * half
        raster.paint(geometry.rect(raster, cx - w, cy - half, cx + w, cy + half), item.inst)
        if half >= 3.0:
            lit = item.inst % 3  # which lamp is on: fixed by the layout, like its position
            for k in range(3):
                lamp = geometry.ellipse(raster, cx, cy + (k - 1) * 0.62 * half, 0.6 * w, 0.6 * w)
                raster.paint(lamp, item.inst, ids.PART_LIGHT if k == lit else ids.PART_GLASS)
        return
    raster.paint(_sign_region(raster, item.shape, cx, cy, half), item.inst)


def _sign_region(raster, shape, cx, cy, r):
    """Region of a sign face of half-size r centred at (cx, cy)."""
    if shape == "circle":
        return geometry.ellipse(raster, cx, cy, r, r)
    if shape == "rect":
        return geometry.rect(raster, cx - 1.2 * r, cy - 0.8 * r, cx + 1.2 * r, cy + 0.8 * r)
    if shape == "triangle":
        return geometry.polygon(raster, [(cx, cy - r), (cx + r, cy + 0.8 * r),
                                         (cx - r, cy + 0.8 * r)])
    if shape == "diamond":
        return geometry.polygon(raster, [(cx, cy - r), (cx + r, cy), (cx, cy + r),
                                         (cx - r, cy)])
    angles = np.pi / 8 + np.arange(8) * np.pi / 4
    return geometry.polygon(raster, np.stack([cx + r * np.cos(angles),
                                              cy + r * np.sin(angles)], 1))


# === People ===


def _draw_person(raster, proj, person):
    """Legs, arms, torso and head as boxes and an ellipse; a plain box when tiny."""
    h = person.height
    if proj.size(h, person.z) < _DETAIL_PIXELS:
        # A few pixels tall: a plain upright box, as annotators would outline it.
        cx, half = proj.x(person.x, person.z), 0.5 * proj.size(0.3 * h, person.z)
        raster.paint(geometry.rect(raster, cx - half, proj.y(h, person.z), cx + half,
                                   proj.y(0.0, person.z)), person.inst, ids.PART_TOP)
        return

    def box(x0, x1, y0, y1, part):
        """Paints a box given in fractions of the person's height."""
        region = geometry.rect(raster, proj.x(person.x + x0 * h, person.z),
                               proj.y(y1 * h, person.z),
                               proj.x(person.x + x1 * h, person.z), proj.y(y0 * h, person.z))
        raster.paint(region, person.inst, part)

    spread = 0.04 * person.stride
    box(-0.11 - spread, -0.01 - spread, 0.0, 0.5, ids.PART_BOTTOM)
    box(0.01 + spread, 0.11 + spread, 0.0, 0.5, ids.PART_BOTTOM)
    box(-0.18, 0.18, 0.5, 0.64, ids.PART_TOP)  # arms
    box(-0.13, 0.13, 0.46, 0.83, ids.PART_TOP)
    region = geometry.ellipse(raster, proj.x(person.x, person.z), proj.y(0.9 * h, person.z),
                              proj.size(0.065 * h, person.z), proj.size(0.08 * h, person.z))
    raster.paint(region, person.inst, ids.PART_SKIN)


# === Vehicles ===


def _draw_vehicle(raster, proj, vehicle):
    """A car, bus or truck with its shadow; one box when it is far away."""
    if proj.size(vehicle.width, vehicle.z) < _DETAIL_PIXELS:
        # Far away, details would cover a pixel or two: one box keeps the silhouette.
        raster.paint(geometry.box(raster, proj, vehicle.x - vehicle.width / 2,
                                  vehicle.x + vehicle.width / 2, 0.2, vehicle.height,
                                  vehicle.z, vehicle.z + vehicle.length),
                     vehicle.inst, ids.PART_SHADED)
        return
    _draw_shadow(raster, proj, vehicle)
    if vehicle.kind == "truck":
        _draw_truck(raster, proj, vehicle)
    elif vehicle.kind == "bus":
        _draw_bus(raster, proj, vehicle)
    else:
        _draw_car(raster, proj, vehicle)


def _draw_shadow(raster, proj, vehicle):
    """Marks the ground under a vehicle; the realistic domain darkens it."""
    x0, x1 = vehicle.x - vehicle.width / 2 - 0.2, vehicle.x + vehicle.width / 2 + 0.2
    z0, z1 = vehicle.z - 0.25, vehicle.z + vehicle.length + 0.25
    region = geometry.polygon(raster, [proj.point(x, 0.0, z) for x, z in
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
        raster.paint(geometry.face(raster, proj, a, b, 0.0, radius + 0.1, z0 + 0.3), v.inst,
                     ids.PART_TYRE)
    side = _visible_side(x0, x1)
    if side is None or proj.size(radius, z0) < 1.0:
        return
    for zc in wheel_z:
        # A disc on the side plane looks like an ellipse squeezed along the street.
        near, far = proj.x(side, zc - radius), proj.x(side, zc + radius)
        disc = geometry.ellipse(raster, 0.5 * (near + far), proj.y(radius, zc),
                                0.5 * abs(near - far), proj.size(radius, zc))
        raster.paint(disc, v.inst, ids.PART_TYRE)


def _draw_lights(raster, proj, v, x0, x1, y):
    """Tail lights or headlights at the near-face corners."""
    if proj.size(v.width, v.z) < 2 * _DETAIL_PIXELS:
        return
    for a, b in ((x0 + 0.05, x0 + 0.35), (x1 - 0.35, x1 - 0.05)):
        raster.paint(geometry.face(raster, proj, a, b, y - 0.15, y, v.z), v.inst,
                     ids.PART_LIGHT)


def _draw_car(raster, proj, v):
    """A car: body box, wheels, near face, lights, cabin and glass."""
    x0, x1 = v.x - v.width / 2, v.x + v.width / 2
    z0, z1 = v.z, v.z + v.length
    clearance, belt = 0.18, 0.15 + 0.55 * v.height
    raster.paint(geometry.box(raster, proj, x0, x1, clearance, belt, z0, z1), v.inst,
                 ids.PART_SHADED)
    _draw_wheels(raster, proj, v, x0, x1, (z0 + 0.8, z1 - 0.8), 0.32)
    raster.paint(geometry.face(raster, proj, x0, x1, clearance, belt, z0), v.inst)
    _draw_lights(raster, proj, v, x0, x1, belt - 0.08)
    inset = 0.1
    c0, c1 = x0 + inset, x1 - inset
    zc0, zc1 = z0 + 0.22 * v.length, z0 + 0.78 * v.length
    raster.paint(geometry.box(raster, proj, c0, c1, belt, v.height, zc0, zc1), v.inst,
                 ids.PART_SHADED)
    raster.paint(geometry.face(raster, proj, c0 + 0.1, c1 - 0.1, belt + 0.05,
                               v.height - 0.07, zc0),
                 v.inst, ids.PART_GLASS)
    side = _visible_side(c0, c1)
    if side is not None:
        corners = ((belt + 0.05, zc0 + 0.1), (v.height - 0.07, zc0 + 0.35),
                   (v.height - 0.07, zc1 - 0.3), (belt + 0.05, zc1 - 0.05))
        raster.paint(geometry.side_quad(raster, proj, side, corners), v.inst, ids.PART_GLASS)


def _draw_bus(raster, proj, v):
    """A bus: one tall box with a band of windows along the side and the near face."""
    x0, x1 = v.x - v.width / 2, v.x + v.width / 2
    z0, z1 = v.z, v.z + v.length
    raster.paint(geometry.box(raster, proj, x0, x1, 0.3, v.height, z0, z1), v.inst,
                 ids.PART_SHADED)
    _draw_wheels(raster, proj, v, x0, x1, (z0 + 2.0, z1 - 2.5), 0.5)
    raster.paint(geometry.face(raster, proj, x0, x1, 0.3, v.height, z0), v.inst)
    lo, hi = 0.42 * v.height, 0.88 * v.height
    raster.paint(geometry.face(raster, proj, x0 + 0.15, x1 - 0.15, lo, hi, z0), v.inst,
                 ids.PART_GLASS)
    side = _visible_side(x0, x1)
    if side is not None:
        corners = ((lo, z0 + 0.4), (hi, z0 + 0.4), (hi, z1 - 0.4), (lo, z1 - 0.4))
        raster.paint(geometry.side_quad(raster, proj, side, corners), v.inst, ids.PART_GLASS)
    _draw_lights(raster, proj, v, x0, x1, 0.9)


def _draw_truck(raster, proj, v):
    """A truck: the cab at the far end, a cargo box at the near end."""
    x0, x1 = v.x - v.width / 2, v.x + v.width / 2
    z0, z1 = v.z, v.z + v.length
    z_split = z0 + 0.72 * v.length
    cab_top = 0.8 * v.height
    raster.paint(geometry.box(raster, proj, x0 + 0.05, x1 - 0.05, 0.4, cab_top,
                              z_split + 0.15, z1),
                 v.inst, ids.PART_SHADED)
    side = _visible_side(x0 + 0.05, x1 - 0.05)
    if side is not None:
        corners = ((0.55 * v.height, z_split + 0.4), (cab_top - 0.15, z_split + 0.4),
                   (cab_top - 0.15, z1 - 0.4), (0.55 * v.height, z1 - 0.2))
        raster.paint(geometry.side_quad(raster, proj, side, corners), v.inst, ids.PART_GLASS)
    raster.paint(geometry.box(raster, proj, x0, x1, 0.5, v.height, z0, z_split), v.inst,
                 ids.PART_SHADED)
    _draw_wheels(raster, proj, v, x0, x1, (z0 + 1.2, z1 - 1.0), 0.5)
    raster.paint(geometry.face(raster, proj, x0, x1, 0.5, v.height, z0), v.inst)
    _draw_lights(raster, proj, v, x0, x1, 0.75)


# === Bicycles ===


def _draw_bicycle_and_rider(raster, proj, bike):
    """The bicycle, then its rider if it has one (parked bicycles have none)."""
    _draw_bicycle(raster, proj, bike)
    if bike.rider_inst >= 0:
        _draw_rider(raster, proj, bike)


def _draw_bicycle(raster, proj, bike):
    """Two wheel rings and a diamond frame, seen from the side."""
    z, s, r = bike.z, bike.facing, 0.34
    rear, front = (bike.x - s * 0.52, r), (bike.x + s * 0.52, r)
    crank, seat, head = (bike.x - s * 0.1, r), (bike.x - s * 0.22, 0.9), (bike.x + s * 0.38, 0.92)
    for cx, cy in (rear, front):
        rr = proj.size(r, z)
        raster.paint(geometry.ellipse(raster, proj.x(cx, z), proj.y(cy, z), rr, rr, 0.8),
                     bike.inst, ids.PART_TYRE)
    for p, q in ((rear, crank), (crank, seat), (seat, rear), (seat, head), (crank, head),
                 (head, front)):
        raster.paint(geometry.thick_line(raster, proj, p, q, z, 0.05), bike.inst)


def _draw_rider(raster, proj, bike):
    """A rider leaning over the handlebars."""
    z, s, h = bike.z, bike.facing, bike.rider_height / 1.75
    hip, shoulder = (bike.x - s * 0.2, 0.98 * h), (bike.x + s * 0.08, 1.5 * h)
    hand, foot = (bike.x + s * 0.36, 1.0), (bike.x - s * 0.05, 0.35)
    paint, rider = raster.paint, bike.rider_inst
    paint(geometry.thick_line(raster, proj, hip, foot, z, 0.16), rider, ids.PART_BOTTOM)
    paint(geometry.thick_line(raster, proj, hip, shoulder, z, 0.34), rider, ids.PART_TOP)
    paint(geometry.thick_line(raster, proj, shoulder, hand, z, 0.1), rider, ids.PART_TOP)
    head = proj.size(0.12 * h, z)
    paint(geometry.ellipse(raster, proj.x(shoulder[0] + s * 0.07, z), proj.y(1.68 * h, z),
                           head, 1.15 * head), rider, ids.PART_SKIN)


# Which painter draws each kind of thing.
_PAINTERS = {
    street.Tree: _draw_tree,
    street.Pole: _draw_pole,
    street.Person: _draw_person,
    street.Vehicle: _draw_vehicle,
    street.Bicycle: _draw_bicycle_and_rider,
}
