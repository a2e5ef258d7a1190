"""Projection and pixel geometry: the camera model, the per-pixel maps, and shape regions.

`Projector` maps world points (metres) to pixel coordinates. `Raster` holds the per-pixel
maps a layout is painted into. The region functions (`rect`, `ellipse`, `ellipses`,
`polygon`, `box`, `face`, `side_quad`, `thick_line`) say which pixels a shape covers, as
`(rows, cols, mask)` for `Raster.paint`, or None when the shape is off the image.

A pixel belongs to a shape when its centre does; shapes thinner than a pixel are widened to
one pixel (see `_span`), so that far poles and sign posts do not vanish between pixel
centres.
"""

import math

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import ids


class Projector:
    """World (X right, Y up, Z forward; metres) to pixel coordinates for one image size.

    Attributes:
      focal_px: focal length in pixels.
      horizon_row: image row of the horizon, pixels.
      vanishing_col: image column of the vanishing point, pixels.
      camera_height: height of the camera above the road, metres.
    """

    def __init__(self, camera, height, width):
        self.focal_px = camera.focal * width
        self.horizon_row = camera.horizon * height
        self.vanishing_col = camera.vanishing_x * width
        self.camera_height = camera.height

    def x(self, x, z):
        """Image column of lateral position x at depth z."""
        return self.vanishing_col + self.focal_px * x / z

    def y(self, y, z):
        """Image row of height y at depth z."""
        return self.horizon_row + self.focal_px * (self.camera_height - y) / z

    def size(self, metres, z):
        """Pixels that a length of `metres` at depth z spans."""
        return self.focal_px * metres / z

    def point(self, x, y, z):
        """(column, row) of a world point."""
        return self.x(x, z), self.y(y, z)


class Raster:
    """Per-pixel maps of a layout at one image size; `label` is the training target.

    While painting only `code` (instance and part), `su`, `sv` and `shadow` are written;
    `resolve` then derives the other maps from the instances.

    Attributes:
      code: int32 [H, W] `inst << ids.PART_BITS | part`.
      label: uint8 [H, W] trainIds.
      inst: int32 [H, W] instance ids into `Layout.instances`.
      part: uint8 [H, W] ids.PART_* ids.
      surface: uint8 [H, W] ids.SURFACE_* ids saying what `su` and `sv` mean.
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

    def paint(self, region, inst, part=ids.PART_BASE):
        """Paints an object over `region` (from `rect`, `ellipse`, `polygon`, ...)."""
        if region is None:
            return
        rows, cols, mask = region
        if mask is None:
            self.code[rows, cols] = inst << ids.PART_BITS | part
        else:
            self.code[rows, cols][mask] = inst << ids.PART_BITS | part

    def resolve(self, instances):
        """Derives label, inst, part, surface and side from `code` and the instances."""
        self.inst = self.code >> ids.PART_BITS
        self.part = (self.code & ((1 << ids.PART_BITS) - 1)).astype(np.uint8)
        self.label = np.array([i.label for i in instances], np.uint8)[self.inst]
        self.surface = np.array([i.surface for i in instances], np.uint8)[self.inst]
        self.side = np.array([i.side for i in instances], np.int8)[self.inst]


# === Regions in pixel coordinates ===


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


def rect(raster, x0, y0, x1, y1):
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


def ellipse(raster, cx, cy, rx, ry, inner=0.0):
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


def ellipses(raster, cx, cy, rx, ry):
    """Region of a union of axis-aligned ellipses given as arrays of centres and radii."""
    grid = _grid(raster, np.min(cx - rx), np.min(cy - ry), np.max(cx + rx), np.max(cy + ry))
    if grid is None:
        return None
    rows, cols, xs, ys = grid
    dist = ((xs[None] - cx[:, None, None]) / rx[:, None, None]) ** 2 + \
        ((ys[None] - cy[:, None, None]) / ry[:, None, None]) ** 2
    return rows, cols, np.any(dist <= 1.0, axis=0)


# _NEXT_VERTEX[n][i] is the vertex after i in a polygon of n vertices.
_NEXT_VERTEX = {n: np.roll(np.arange(n), -1) for n in range(3, 17)}


def polygon(raster, points):
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


# === Regions of world shapes, through a Projector ===


def box(raster, proj, x0, x1, y0, y1, z0, z1):
    """Region covered by a 3D box (its convex silhouette)."""
    corners = [proj.point(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)]
    return polygon(raster, _convex_hull(corners))


def face(raster, proj, x0, x1, y0, y1, z):
    """Region of a frontal rectangle at depth z."""
    return rect(raster, proj.x(x0, z), proj.y(y1, z), proj.x(x1, z), proj.y(y0, z))


def side_quad(raster, proj, x, corners):
    """Region of a quad on the side plane at lateral x; corners are (y, z) pairs."""
    return polygon(raster, [proj.point(x, y, z) for y, z in corners])


def thick_line(raster, proj, p, q, z, thickness):
    """Region of a thick line from p to q (world (x, y) at depth z)."""
    (x0, y0), (x1, y1) = proj.point(p[0], p[1], z), proj.point(q[0], q[1], z)
    length = max(np.hypot(x1 - x0, y1 - y0), 1e-6)
    half = max(0.5 * proj.size(thickness, z), 0.5)
    nx, ny = -(y1 - y0) / length * half, (x1 - x0) / length * half
    return polygon(raster, [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny),
                            (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)])
