"""Drawing a layout: `rasterize` and the painters of the ground and the vertical planes.

`rasterize(layout, height, width)` projects a `street.Layout` into a `geometry.Raster`,
painting far to near so that nearer surfaces overwrite farther ones: first the ground
(road, verges, sidewalks, markings), then the vertical planes (facades with windows, tree
lines, fences, walls), then the things (`thing_drawing`). The ground and planes are filled
row- and column-wise with numpy rather than shape by shape, as they cover most pixels.
"""

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import geometry
from gta_keras.datasets.procedural_streets.scene_renderer import ids
from gta_keras.datasets.procedural_streets.scene_renderer import street
from gta_keras.datasets.procedural_streets.scene_renderer import thing_drawing


def rasterize(layout, height, width):
    """Projects a layout into per-pixel maps, painting far to near.

    Args:
      layout: a `street.Layout`.
      height: image height in pixels.
      width: image width in pixels.

    Returns:
      A `geometry.Raster`.
    """
    raster = geometry.Raster(height, width)
    proj = geometry.Projector(layout.camera, height, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        _draw_ground(raster, proj, layout.ground)
        for plane in layout.planes:
            _draw_plane(raster, proj, plane)
    for thing in layout.things:
        thing_drawing.draw_thing(raster, proj, thing)
    raster.resolve(layout.instances)
    return raster


def _draw_ground(raster, proj, ground):
    """Road, verges, sidewalks and the zone beyond them, with markings and kerbs."""
    height, width = raster.shape
    first = max(int(np.ceil(proj.horizon_row)), 0)
    rows = np.arange(first, height, dtype=np.float32) + 0.5
    rows = rows[rows - proj.horizon_row > 0.25]
    if rows.size == 0:
        return
    r0 = height - rows.size
    z = (proj.focal_px * proj.camera_height / (rows - proj.horizon_row))[:, None]
    columns = np.arange(width, dtype=np.float32)[None, :] + 0.5
    x = (columns - proj.vanishing_col) * z / proj.focal_px
    right = x >= 0
    out = np.where(right, x - ground.road_right, ground.road_left - x)
    verge = np.where(right, ground.verge[1], ground.verge[0])
    walk_end = verge + np.where(right, ground.sidewalk[1], ground.sidewalk[0])
    road_i, walk_i, terrain_i = ground.insts
    zone_i = [walk_i if label == ids.SIDEWALK else terrain_i for label in ground.zone_label]
    # Bands outwards from the road edge: road, verge (terrain), sidewalk, zone.
    code = np.where(right, zone_i[1], zone_i[0]).astype(np.int32)
    code[out < walk_end] = walk_i
    code[out < verge] = terrain_i
    road = out < 0
    code[road] = road_i
    code <<= ids.PART_BITS
    kerb = (out >= 0) & (((out >= verge) & (out < verge + 0.25)) | (out < 0.2))
    code[kerb & (code >> ids.PART_BITS != terrain_i)] |= ids.PART_KERB
    code[road & _markings(ground, x, z, out)] |= ids.PART_MARKING
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
    dx = cols - proj.vanishing_col
    if plane.frontal:
        depth = np.full(width, plane.position, np.float32)
        return dx * plane.position / proj.focal_px, depth, np.ones(width, bool)
    # A side plane at X = p is seen, at depth f * p / dx, by the columns on its side.
    valid = dx * np.sign(plane.position) > 1e-3
    depth = np.where(valid, proj.focal_px * plane.position / np.where(valid, dx, 1.0), np.inf)
    return depth, depth, valid


_SEGMENT_FIELDS = ("start", "end", "height", "wave", "phase", "inst", "spacing", "floor",
                   "win_width", "win_height", "shop")


def _segment_table(segments):
    """Segment attributes as columns of one float array, indexed by `_SEGMENT_FIELDS`."""
    none = street.Windows(1.0, 1.0, 0.0, 0.0, False)
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
    row_centres = r.astype(np.float32) + 0.5
    elevation = proj.camera_height - (row_centres - proj.horizon_row) * depth[c] / proj.focal_px
    code = seg["inst"][idx].astype(np.int32)[c] << ids.PART_BITS
    code |= _window_parts(seg, idx, along, tops, c, elevation)
    cc = cols[c]
    raster.code[r, cc] = code
    raster.su[r, cc] = along[c]
    raster.sv[r, cc] = elevation


def _window_parts(seg, idx, along, tops, c, elevation):
    """ids.PART_WINDOW where a building segment's window grid (or shop front) has glass.

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
    parts[hit[upper | lower]] = ids.PART_WINDOW
    return parts
