"""The dusk domain's look: a low sun or the blue hour, lamps, and a low-light camera.

`dusk` is the third, unseen domain: never trained or tuned on, only scored (the role CamVid
plays in the paper's Table 5). It keeps the realistic domain's materials (the textures of
`photograph`) and changes everything else about how a scene looks:

- palette: its own (`palettes`), graded less saturated and bluer, as eyes and cameras see
  colour in little light;
- light: a dim blue fill from the sky everywhere, plus either a low warm sun (on the upper
  floors of the facades facing it, above the soft shadow line the opposite buildings cast,
  and in bands across the street where gaps let it through) or, in the blue hour, none;
- emitters: headlights, tail lights, street lamps, traffic lights and some lit windows
  keep their own brightness, with a glow around them;
- sky: deep blue at the zenith to warm at the horizon, a sun glow, dark clouds;
- camera: under-exposure, strong vignetting, horizontal motion blur (a long exposure from a
  moving car), signal-dependent shot noise, read noise, blotchy half-resolution chroma
  noise and a tone curve that lifts the shadows.

Like `photograph`, every random number comes from the appearance RNG in a fixed order;
reordering the calls below changes every dusk image (and its pinned digest).
"""

import functools

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import ids
from gta_keras.datasets.procedural_streets.scene_renderer import noise
from gta_keras.datasets.procedural_streets.scene_renderer import photograph

# Colour of the direct light of a low sun (reddened by the long path through the air),
# and of the fill light from a blue twilight sky; RGB multipliers of a reflectance.
_SUN_RGB = np.array([1.0, 0.7, 0.42], np.float32)
_FILL_RGB = np.array([0.46, 0.54, 0.78], np.float32)
# Candidate colours of the sky at the horizon, for a sunset and for the blue hour.
_SUNSET_HORIZONS = np.array([(242, 146, 84), (250, 176, 104), (226, 124, 96)], np.float32)
_BLUE_HOUR_HORIZONS = np.array([(172, 122, 142), (150, 130, 168), (190, 140, 130)],
                               np.float32)
_SUN_GLOW_RGB = np.array([255, 206, 150], np.float32)
# Tint of the halos around lamps and lit windows.
_GLOW_RGB = np.array([1.0, 0.85, 0.62], np.float32)
_CLOUD_RGB = np.array([66, 60, 80], np.float32)
_CLOUD_UNDERSIDE_RGB = np.array([140, 70, 40], np.float32)
# Warm interior light of lit windows.
_WINDOW_RGB = np.array([255, 196, 120], np.float32)


def grade(table, rng):
    """The palette's colours as seen at dusk: desaturated and tinted, per image.

    Applied to the few colour-table entries rather than to every pixel: it grades the
    materials, before any light falls on them.

    Args:
      table: float32 [N, 3] colour per pixel code.
      rng: the appearance RNG.

    Returns:
      float32 [N, 3].
    """
    sat = rng.uniform(0.55, 0.8)
    tint = np.array([1.0, 1.0, 1.0 + rng.uniform(0.0, 0.12)], np.float32)
    grey = table.mean(axis=1, keepdims=True)
    return (sat * table + (1.0 - sat) * grey) * tint


def photograph_at_dusk(image, raster, layout, rng):
    """Turns a scene's flat dusk colours into a low-light photograph.

    Args:
      image: float32 [H, W, 3] flat colours (the graded palette).
      raster: the scene's `geometry.Raster`.
      layout: its `street.Layout`.
      rng: the appearance RNG.

    Returns:
      uint8 [H, W, 3].
    """
    surface_noise = noise.ValueNoise(rng)
    height, width = raster.shape
    fine = rng.random((height, width), dtype=np.float32)
    coarse = noise.screen_noise(rng, height, width, 4.0, 5.0)
    emitters, colours = _emitters(image, raster, layout, surface_noise, rng)
    sky = raster.label == ids.SKY
    zenith = image[sky]  # the palette's colour, before any light: a copy
    sun = _Sun(rng)
    fill, direct = _light(raster, surface_noise, sun, rng)
    texture = photograph.textures(raster, surface_noise, fine, coarse, rng)
    # Fill and sun as two scalar maps times their colours: fewer passes over RGB arrays.
    image *= (fill * texture)[..., None] * _FILL_RGB + (direct * texture)[..., None] * _SUN_RGB
    image[emitters] = colours
    image[sky] = _sky(zenith, raster, sky, layout.camera.horizon, sun, rng)
    image += _glow(emitters, colours, rng.uniform(0.4, 0.7))
    return _camera(image, rng)


def _glow(emitters, colours, strength):
    """Light scattered around the emitters (haze, the lens): a warm halo, blurred.

    One channel, tinted afterwards: a third of the cost of blurring colour, and the halos
    of the small red tail lights hardly show either way.

    Args:
      emitters: bool [H, W].
      colours: float32 [M, 3] the colours of its M pixels.
      strength: the halo's brightness relative to its source.

    Returns:
      float32 [H, W, 3].
    """
    source = np.zeros(emitters.shape + (1,), np.float32)
    source[emitters, 0] = colours.mean(axis=1)
    return photograph.blur(source, 1.5) * (strength * _GLOW_RGB)


class _Sun:
    """Where the light of a scene comes from: a low sun on one side, or none (blue hour).

    Attributes:
      side: +1 / -1: the lateral side the sun shines from.
      strength: scale of the direct sun light; 0 in the blue hour.
      column: image column of the sun's glow, as a fraction of the width.
    """

    def __init__(self, rng):
        self.side = 1 if rng.random() < 0.5 else -1
        self.strength = rng.uniform(1.4, 2.2) if rng.random() < 0.65 else 0.0
        # The sun is low beside the street's far end, on its side of the image.
        self.column = 0.5 + self.side * rng.uniform(0.15, 0.45)


def _light(raster, surface_noise, sun, rng):
    """Per-pixel light: the blue fill, plus the low sun where it reaches.

    Args:
      raster: the scene's `geometry.Raster`.
      surface_noise: the scene's `noise.ValueNoise`.
      sun: the scene's `_Sun`.
      rng: the appearance RNG.

    Returns:
      (fill, direct): float32 [H, W] each, the strengths of the light of colour _FILL_RGB
      and of colour _SUN_RGB.
    """
    surface, su, sv = raster.surface, raster.su, raster.sv
    ground = surface == ids.SURFACE_GROUND
    plane = surface == ids.SURFACE_PLANE
    direct = np.zeros(raster.shape, np.float32)  # share of the sun reaching each pixel
    # Facades facing the sun: lit above the shadow line of the buildings across the
    # street, which wanders with their heights; soft, as the sun is a wide, low source.
    facing = plane & (raster.side == -sun.side)
    line = rng.uniform(1.0, 8.0) + 6.0 * (surface_noise.value(su[facing] / 9.0 + 300.0, 5.5)
                                           - 0.5)
    direct[facing] = np.clip((sv[facing] - line) / 2.5 + 0.5, 0.0, 1.0)
    # Frontal planes (the street's far end) face the camera; a low sun grazes them.
    direct[plane & (raster.side == 0)] = 0.35
    # Long bands of sun across the street where gaps between buildings let it through.
    # A gap every few metres of depth; the noise is smooth, so a narrow ramp from shade to
    # sun keeps the bands' edges soft but visible.
    bands = surface_noise.value(sv[ground] / 3.0 + 200.0, 3.5)
    direct[ground] = np.clip((bands - rng.uniform(0.45, 0.55)) / 0.06, 0.0, 1.0)
    direct[surface == ids.SURFACE_NONE] = 0.3  # objects: side-lit, partly
    fill = np.ones(raster.shape, np.float32) * rng.uniform(0.7, 0.95)
    # Under a vehicle neither the sun nor much of the sky reaches.
    under = ground & raster.shadow
    fill[under] *= 0.45
    direct[under] = 0.0
    direct *= sun.strength
    return fill, direct


def _emitters(image, raster, layout, surface_noise, rng):
    """Pixels that shine by their own light: lamps, vehicle lights and lit windows.

    Args:
      image: float32 [H, W, 3] graded flat colours (lamp colours come from here).
      raster: the scene's `geometry.Raster`.
      layout: its `street.Layout` (the facades' window grids).
      surface_noise: the scene's `noise.ValueNoise` (which windows are lit).
      rng: the appearance RNG.

    Returns:
      (bool [H, W] mask, float32 [M, 3] colours of its M pixels, in row-major order).
    """
    lamps = raster.part == ids.PART_LIGHT
    # Lamps glow brighter than their paint: a flat palette colour would look unlit.
    lamp_rgb = np.minimum(image[lamps] * 1.15 + 20.0, 255.0)
    windows = raster.part == ids.PART_WINDOW
    lit = np.zeros(raster.shape, bool)
    lit[windows] = _lit_windows(raster, layout, surface_noise, rng.uniform(0.1, 0.4),
                                windows)
    brightness = 0.55 + 0.35 * surface_noise.cell(raster.su[lit] + 17.0, raster.sv[lit])
    mask = lamps | lit
    colours = np.empty((int(mask.sum()), 3), np.float32)
    colours[lamps[mask]] = lamp_rgb
    colours[lit[mask]] = brightness[:, None] * _WINDOW_RGB
    return mask, colours


def _lit_windows(raster, layout, surface_noise, share, windows):
    """Which window pixels belong to a lit window: whole windows, about `share` of them.

    A window is one cell of its facade's grid (column spacing, floor height), found from
    the pixel's surface coordinates, so every pixel of a window gets the same answer.

    Args:
      raster: the scene's `geometry.Raster`.
      layout: its `street.Layout`.
      surface_noise: the scene's `noise.ValueNoise`: one uniform per window cell.
      share: the fraction of windows lit.
      windows: bool [H, W] window pixels.

    Returns:
      bool [number of window pixels].
    """
    start, spacing, floor = _window_grids(layout)
    inst = raster.inst[windows]
    column = np.floor((raster.su[windows] - start[inst]) / spacing[inst])
    row = np.floor(raster.sv[windows] / floor[inst])
    # Instances are spread over the noise lattice so that facades do not repeat.
    return surface_noise.cell(column + 37.0 * inst, row + 61.0 * inst) < share


def _window_grids(layout):
    """Per instance id: the window grid's start along the facade, column spacing and floor
    height (1 m cells for instances without windows)."""
    count = len(layout.instances)
    start = np.zeros(count, np.float32)
    spacing = np.ones(count, np.float32)
    floor = np.ones(count, np.float32)
    for plane in layout.planes:
        for segment in plane.segments:
            if segment.windows is not None:
                start[segment.inst] = segment.start
                spacing[segment.inst] = segment.windows.spacing
                floor[segment.inst] = segment.windows.floor
    return start, spacing, floor


def _sky(zenith, raster, sky, horizon, sun, rng):
    """Twilight sky: zenith blue to a warm horizon, the sun's glow, dark clouds.

    Args:
      zenith: float32 [S, 3] the palette's sky colour at the S sky pixels.
      raster: the scene's `geometry.Raster`.
      sky: bool [H, W] the sky's pixels.
      horizon: horizon row as a fraction of the image height.
      sun: the scene's `_Sun`.
      rng: the appearance RNG.

    Returns:
      float32 [S, 3].
    """
    height, width = raster.shape
    v, u = noise.pixel_grid(height, width)
    t = np.clip(v[sky] / max(horizon, 1e-3), 0.0, 1.0)[:, None]  # 0 at the top, 1 at horizon
    choices = _SUNSET_HORIZONS if sun.strength > 0 else _BLUE_HOUR_HORIZONS
    warm = choices[rng.integers(len(choices))] * rng.uniform(0.75, 1.0)
    weight = t ** rng.uniform(1.5, 3.0)  # the warm band hugs the horizon
    colour = zenith * (1.0 - weight) + warm * weight
    glow = np.exp(-((u[sky] - sun.column) / 0.2) ** 2)[:, None] * t ** 4
    colour += (0.6 * sun.strength) * glow * _SUN_GLOW_RGB
    cloud = noise.screen_noise(rng, height, width, 9.0, 24.0) + \
        0.5 * noise.screen_noise(rng, height, width, 4.0, 9.0)
    cover = 0.9 * np.clip((cloud[sky] - 0.7) / 0.4, 0.0, 1.0)[:, None]
    clouds = _CLOUD_RGB + (sun.strength * t) * _CLOUD_UNDERSIDE_RGB
    return np.minimum(colour * (1.0 - cover) + clouds * cover, 255.0)


def _camera(image, rng):
    """A low-light camera: exposure, vignetting, motion blur, noise and a tone curve.

    Args:
      image: float32 [H, W, 3] scene radiance, roughly 0..255.
      rng: the appearance RNG.

    Returns:
      uint8 [H, W, 3].
    """
    height, width = image.shape[:2]
    v, u = noise.pixel_grid(height, width)
    vignette = 1.0 - rng.uniform(0.3, 0.55) * ((u - 0.5) ** 2 + 0.5 * (v - 0.5) ** 2) / 0.375
    image *= (rng.uniform(0.6, 0.85) * vignette)[..., None]
    image = _motion_blur(image, int(rng.integers(2, 5)))
    np.maximum(image, 0.0, out=image)
    # Shot noise: its variance grows with the signal (photon counts), on top of the
    # sensor's read noise; at this exposure both show.
    sigma = np.sqrt(rng.uniform(0.5, 1.2) * image + rng.uniform(2.0, 4.0) ** 2)
    image += sigma * rng.standard_normal(image.shape, dtype=np.float32)
    image += _chroma_noise(rng, height, width, rng.uniform(2.0, 4.5))
    np.clip(image, 0.0, 255.0, out=image)
    # Lifted shadows and a raised black level, as a phone's night processing gives.
    black = rng.uniform(3.0, 9.0)
    tone = np.rint(black + (255.0 - black)
                   * (np.arange(256) / 255.0) ** rng.uniform(0.75, 0.9))
    return tone.astype(np.uint8)[(image + 0.5).astype(np.uint8)]


def _motion_blur(image, length):
    """Horizontal box blur over `length` pixels (edges replicated): a long exposure from a
    moving car smears along the rows. Centred (to half a pixel for even lengths), so that
    edges stay where the labels put them."""
    width = image.shape[1]
    left = (length - 1) // 2
    # Edge padding by concatenation: np.pad costs several times more at this size.
    padded = np.concatenate([image[:, :1].repeat(left, axis=1), image,
                             image[:, -1:].repeat(length - 1 - left, axis=1)], axis=1)
    out = padded[:, :width].copy()
    for k in range(1, length):
        out += padded[:, k:k + width]
    out *= 1.0 / length
    return out


def _chroma_noise(rng, height, width, sigma):
    """Colour blotches two pixels wide: per-channel noise at half resolution, upsampled as
    a demosaicing camera smears it at high gain."""
    half = rng.standard_normal(((height + 1) // 2, (width + 1) // 2, 3), dtype=np.float32)
    rows, cols = _half_resolution_indices(height, width)
    half *= sigma
    return np.take(np.take(half, rows, axis=0), cols, axis=1)


@functools.lru_cache(maxsize=8)
def _half_resolution_indices(height, width):
    """Row and column indices that upsample a half-resolution array x2, nearest."""
    return np.arange(height) // 2, np.arange(width) // 2
