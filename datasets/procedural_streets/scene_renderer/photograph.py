"""The realistic domain's look: textures, lighting, sky, and a camera's lens and sensor.

`photograph(image, raster, layout, rng)` turns the flat colours of a scene into a
photograph-like image. Textures come first and live on the surfaces (asphalt, paving,
brick, plaster, fences, foliage), then lighting (sunny and shaded sides of the street,
shadows under vehicles), the sky, and last the camera: light falloff and vignetting, lens
blur, sensor noise and a tone curve.

Every random number comes from the appearance RNG in a fixed order; reordering the calls
below changes every realistic image.

`textures`, `vegetation_colour` and `blur` are public because the dusk domain (`dusk`)
shares them: the same materials under another light and camera.
"""

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import ids
from gta_keras.datasets.procedural_streets.scene_renderer import noise


def photograph(image, raster, layout, rng):
    """Turns flat colours into a photograph-like image.

    Textures first (they live on the surfaces), then lighting (per image and per side of
    the street), then the camera: light falloff, blur, sensor noise and a tone curve.

    Args:
      image: float32 [H, W, 3] flat colours.
      raster: the scene's `geometry.Raster`.
      layout: its `street.Layout`.
      rng: the appearance RNG.

    Returns:
      uint8 [H, W, 3].
    """
    surface_noise = noise.ValueNoise(rng)
    height, width = raster.shape
    # Per-pixel grain and a smooth field, shared by every texture that needs no surface.
    fine = rng.random((height, width), dtype=np.float32)
    coarse = noise.screen_noise(rng, height, width, 4.0, 5.0)
    light = textures(raster, surface_noise, fine, coarse, rng)
    light *= _lighting(raster, rng)
    image *= light[..., None]
    _sky(image, raster, rng, layout.camera.horizon)
    vegetation_colour(image, raster, coarse)
    return _camera(image, rng)


def textures(raster, surface_noise, fine, coarse, rng):
    """A multiplicative brightness map with a texture per class and surface.

    Args:
      raster: the scene's `geometry.Raster`.
      surface_noise: a `noise.ValueNoise` for textures that live on surfaces.
      fine: float32 [H, W] per-pixel uniforms (grain).
      coarse: float32 [H, W] smooth screen noise in [0, 1].
      rng: the appearance RNG (brick or plaster per facade).

    Returns:
      float32 [H, W], around 1.
    """
    label, part, surface = raster.label, raster.part, raster.surface
    su, sv = raster.su, raster.sv
    tex = 0.93 + 0.14 * coarse
    ground = surface == ids.SURFACE_GROUND
    plane = surface == ids.SURFACE_PLANE

    m = ground & (label == ids.ROAD)
    tex[m] *= (0.8 + 0.26 * fine[m]
               + 0.3 * (surface_noise.value(su[m] / 1.7, sv[m] / 1.7) - 0.5))

    m = ground & (label == ids.SIDEWALK)
    tu, tv = su[m] / 0.5, sv[m] / 0.5
    joint = (np.mod(tu, 1.0) < 0.08) | (np.mod(tv, 1.0) < 0.08)
    tex[m] *= ((0.9 + 0.18 * surface_noise.cell(tu + 60.0, tv)) * np.where(joint, 0.78, 1.0)
               * (0.9 + 0.2 * fine[m]))

    m = label == ids.TERRAIN
    tex[m] *= 0.7 + 0.45 * fine[m] + 0.25 * (coarse[m] - 0.5)

    m = plane & ((label == ids.BUILDING) | (label == ids.WALL)) & (part == ids.PART_BASE)
    tex[m] *= _facade(surface_noise, su[m], sv[m], raster.inst[m], rng)
    m = plane & (part == ids.PART_WINDOW)
    tex[m] *= (0.55 + 0.8 * surface_noise.cell(su[m] / 2.5 + 11.0, sv[m] / 3.2)
               + 0.15 * fine[m])
    m = plane & (label == ids.FENCE)
    bars = np.mod(su[m] / 0.16, 1.0) < 0.4
    rail = np.mod(sv[m], 0.9) < 0.12
    tex[m] *= np.where(bars | rail, 0.62, 1.12)

    m = (label == ids.VEGETATION) & (part != ids.PART_TRUNK)
    tex[m] *= 0.45 + 0.75 * fine[m] + 0.4 * (coarse[m] - 0.5)

    m = _OBJECT_LABELS[label]
    tex[m] *= 0.9 + 0.18 * coarse[m]
    m = part == ids.PART_GLASS
    tex[m] *= 0.75 + 0.6 * fine[m]
    return tex


# Classes textured as painted or metal objects.
_OBJECT_LABELS = np.zeros(256, bool)
_OBJECT_LABELS[[ids.CAR, ids.TRUCK, ids.BUS, ids.BICYCLE, ids.PERSON, ids.RIDER, ids.POLE,
                ids.TRAFFIC_SIGN, ids.TRAFFIC_LIGHT]] = True


def _facade(surface_noise, su, sv, inst, rng):
    """Plaster or brick, floor ledges and grime near the ground, for facade pixels."""
    brick_inst = rng.random(int(inst.max(initial=0)) + 1) < 0.35
    brick = brick_inst[inst]
    course = np.floor(sv / 0.25)
    bu = su / 0.55 + 0.5 * np.mod(course, 2.0)
    mortar = (sv / 0.25 - course < 0.16) | (np.mod(bu, 1.0) < 0.08)
    brick_tex = ((0.86 + 0.25 * surface_noise.cell(bu + 90.0, course))
                 * np.where(mortar, 0.74, 1.0))
    plaster = 0.88 + 0.22 * surface_noise.value(su / 0.7 + 21.0, sv / 0.7)
    plaster *= np.where(np.mod(sv, 3.3) < 0.16, 0.8, 1.0)  # floor ledges
    grime = 0.72 + 0.28 * np.clip(sv / 1.5, 0.0, 1.0)
    return np.where(brick, brick_tex, plaster) * grime


def _sky(image, raster, rng, horizon):
    """Sky brighter and whiter towards the horizon, with soft clouds (in place).

    Args:
      image: float32 [H, W, 3].
      raster: the scene's `geometry.Raster`.
      rng: the appearance RNG.
      horizon: horizon row as a fraction of the image height.
    """
    height, width = raster.shape
    m = raster.label == ids.SKY
    v, _ = noise.pixel_grid(height, width)
    t = np.clip(v[m] / max(horizon, 1e-3), 0.0, 1.0)[:, None]
    sky = image[m] * (0.82 + 0.25 * t) + 30.0 * t
    cloud = noise.screen_noise(rng, height, width, 9.0, 24.0) + \
        0.5 * noise.screen_noise(rng, height, width, 4.0, 9.0)
    cover = 0.85 * np.clip((cloud[m] - 0.75) / 0.5, 0.0, 1.0)[:, None]
    image[m] = sky * (1.0 - cover) + 232.0 * cover


def vegetation_colour(image, raster, coarse):
    """Patches of yellower and bluer green in foliage and grass (in place)."""
    m = ((raster.label == ids.VEGETATION) & (raster.part != ids.PART_TRUNK)) | \
        (raster.label == ids.TERRAIN)
    image[m] += (coarse[m] - 0.5)[:, None] * np.array([50.0, 30.0, -16.0], np.float32)


def _lighting(raster, rng):
    """Per-pixel light: sunny and shaded sides of the street, and shadows under vehicles."""
    sun = 1 if rng.random() < 0.5 else -1  # lateral direction the sun shines from
    ground = raster.surface == ids.SURFACE_GROUND
    if rng.random() < 0.7:
        lit, shaded, edge = 1.12, 0.7, rng.uniform(-3.0, 8.0)
    else:  # overcast: little difference between the two sides
        lit, shaded, edge = 1.02, 0.9, np.inf
    # Index by side + 1: facades facing the sun are lit, the others are in shade; frontal
    # planes and everything else get the light in between.
    by_side = np.array([lit, 0.94, shaded] if sun > 0 else [shaded, 0.94, lit], np.float32)
    light = by_side[raster.side + 1]
    light[raster.surface != ids.SURFACE_PLANE] = 1.0
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
    v, u = noise.pixel_grid(height, width)
    angle = rng.uniform(0.0, 2 * np.pi)
    field = 1.0 + rng.uniform(0.1, 0.3) * ((u - 0.5) * np.cos(angle) + (v - 0.5) * np.sin(angle))
    field *= 1.0 - rng.uniform(0.15, 0.4) * ((u - 0.5) ** 2 + 0.5 * (v - 0.5) ** 2) / 0.375
    image *= field[..., None]
    image = blur(image, rng.uniform(0.45, 0.85))
    image += rng.uniform(2.0, 5.0) * rng.standard_normal(image.shape, dtype=np.float32)
    np.clip(image, 0.0, 255.0, out=image)
    tone = np.rint(255.0 * (np.arange(256) / 255.0) ** rng.uniform(0.85, 1.15))
    return tone.astype(np.uint8)[(image + 0.5).astype(np.uint8)]


def blur(image, sigma):
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

