"""Shading: a raster's colours in one domain, from the scene's *appearance* RNG.

`shade(raster, layout, domain, seed)` gives every (instance, part) pixel code a colour from
the domain's palette, jittered per instance. The synthetic domain stops there: flat
colours, hard edges, no noise. The realistic domain then applies a white balance and
`photograph.photograph` (textures, lighting, lens and sensor); the dusk domain a colour
grade and `dusk.photograph_at_dusk` (the same textures under another light and camera).

The appearance RNG is seeded by the scene seed, a stream id and the domain, so it never
shares random numbers with the layout RNG (`sampling`) nor with the other domain.
"""

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import dusk
from gta_keras.datasets.procedural_streets.scene_renderer import ids
from gta_keras.datasets.procedural_streets.scene_renderer import palettes
from gta_keras.datasets.procedural_streets.scene_renderer import photograph

# Mixed into the seed so that the layout and appearance RNGs of one scene never share
# random numbers (the layout stream lives in `sampling`).
_APPEARANCE_STREAM = 0xA99


def shade(raster, layout, domain, seed):
    """Colours a raster in one domain.

    Args:
      raster: a `geometry.Raster` from `drawing.rasterize`.
      layout: the `street.Layout` it was rasterised from.
      domain: one of ids.DOMAINS.
      seed: the scene seed; with the domain it seeds the appearance RNG.

    Returns:
      uint8 [H, W, 3] RGB image.
    """
    ids.check_domain(domain)
    rng = np.random.default_rng(
        np.random.SeedSequence([int(seed), _APPEARANCE_STREAM, ids.DOMAINS.index(domain)]))
    table = _colour_table(layout.instances, domain, rng)
    if domain == "synthetic":
        # Flat colours straight from the palette: hard edges, no noise.
        return np.rint(table).astype(np.uint8)[raster.code]
    if domain == "dusk":
        return dusk.photograph_at_dusk(dusk.grade(table, rng)[raster.code], raster, layout,
                                       rng)
    # White balance and saturation are linear in colour and everything after them only
    # scales pixels, so they are applied to the few table entries, not to every pixel.
    balance = _white_balance(rng)
    # Three multiply-adds rather than a matrix product: no BLAS threads in worker processes.
    table = table[:, :1] * balance[0] + table[:, 1:2] * balance[1] + table[:, 2:] * balance[2]
    return photograph.photograph(table[raster.code], raster, layout, rng)


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

    Args:
      instances: the layout's `street.Instance`s.
      domain: one of ids.DOMAINS.
      rng: the appearance RNG.

    Returns:
      float32 [len(instances) << ids.PART_BITS, 3], clipped to [0, 255].
    """
    palette = palettes.PALETTES[domain]
    index, colours, first, count, light, has_light = palettes.palette_arrays(domain)
    n = len(instances)
    kinds = np.array([index[instance.kind] for instance in instances])
    picks = rng.random((n, 3))
    base = colours[first[kinds] + (picks[:, 0] * count[kinds]).astype(int)]
    # Mostly brightness, a little hue: a grey road should stay grey.
    jitter = (rng.normal(0.0, palette.jitter, (n, 1))
              + rng.normal(0.0, palette.jitter / 4, (n, 3)))
    base += jitter.astype(np.float32)
    table = np.zeros((n, 1 << ids.PART_BITS, 3), np.float32)
    table[:, :ids.NUM_PARTS] = palette.parts * rng.normal(1.0, 0.04, (n, 1, 1))
    table[:, ids.PART_BASE] = base
    table[:, ids.PART_SHADED] = base * palette.shade
    clothes = np.asarray(palette.clothes, np.float32)
    table[:, ids.PART_TOP] = clothes[(picks[:, 1] * len(clothes)).astype(int)]
    table[:, ids.PART_BOTTOM] = 0.8 * clothes[(picks[:, 2] * len(clothes)).astype(int)]
    lit = has_light[kinds]
    table[lit, ids.PART_LIGHT] = light[kinds[lit]]
    return np.clip(table, 0.0, 255.0).reshape(-1, 3)

