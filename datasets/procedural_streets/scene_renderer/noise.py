"""Noise fields for the realistic domain: lattice value noise and smooth screen noise.

`ValueNoise` is sampled at surface coordinates (metres on the road or a facade), so its
features shrink with distance like real texture. `screen_noise` is sampled in image space
(clouds, grass patches). `pixel_grid` caches normalised pixel coordinates. All random
numbers come from the caller's appearance RNG, drawn when a field is made.
"""

import functools

import numpy as np


class ValueNoise:
    """Smooth value noise from a random lattice, sampled at any real coordinates.

    The lattice wraps around every 128 units; callers offset their coordinates to sample
    unrelated-looking parts of one lattice for different textures.
    """

    _BITS = 7  # lattice period 128: a power of two, so that wrapping is a bitwise and

    def __init__(self, rng):
        """Draws the lattice: 128 x 128 uniforms from `rng`."""
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
    """Lattice indices and weights that linearly interpolate `size` pixels.

    Args:
      size: pixels along the axis.
      cell: lattice spacing in pixels.

    Returns:
      (index of the lattice point before each pixel, float32 weight of the one after).
    """
    pos = (np.arange(size) + 0.5) / cell
    lower = np.floor(pos).astype(np.intp)
    return lower, (pos - lower).astype(np.float32)


def screen_noise(rng, height, width, cell_y, cell_x):
    """Smooth noise in [0, 1] over the image with features of about cell_y x cell_x pixels.

    Interpolating a small random lattice, one axis at a time, is far cheaper than
    evaluating lattice noise at every pixel.

    Args:
      rng: the appearance RNG; one draw of the lattice.
      height, width: image size in pixels.
      cell_y, cell_x: lattice spacing in pixels along rows and columns.

    Returns:
      float32 [height, width].
    """
    rows, row_t = _lerp_weights(height, cell_y)
    cols, col_t = _lerp_weights(width, cell_x)
    lattice = rng.random((rows[-1] + 2, cols[-1] + 2), dtype=np.float32)
    top, bottom = lattice[rows], lattice[rows + 1]
    grid = top + (bottom - top) * row_t[:, None]
    left, right = grid[:, cols], grid[:, cols + 1]
    return left + (right - left) * col_t


@functools.lru_cache(maxsize=8)
def pixel_grid(height, width):
    """Pixel rows and columns as fractions of the height and width, float32 [H, W] each.

    Cached and read-only: callers share the arrays, so they must not modify them.
    """
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    v, u = (v + 0.5) / height, (u + 0.5) / width
    v.flags.writeable = u.flags.writeable = False
    return v, u

