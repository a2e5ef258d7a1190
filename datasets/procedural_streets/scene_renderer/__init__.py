"""Procedural street scenes with Cityscapes trainId labels, in three appearance domains.

A scene is made in three steps, each a pure function of its arguments:

1. `sample_layout(seed)` draws the geometry of a street (camera, road, sidewalks, facades,
   fences, trees, poles with signs, vehicles, people) from a *layout* RNG seeded by `seed`
   alone. The domain is not an argument, so all domains share one layout distribution.
2. `rasterize(layout, height, width)` projects the layout through a pinhole camera, painting
   far to near, into per-pixel maps: the trainId label, an instance id, a part id (windows,
   tyres, lane markings: things that look different but carry their object's label) and
   surface coordinates in metres, so that textures sit on the surfaces in perspective.
3. `shade(raster, layout, domain, seed)` turns those maps into an RGB image from an
   *appearance* RNG. `synthetic` is flat and game-like; `realistic` has another palette,
   textures, lighting, blur, sensor noise and vignetting; `dusk` (the unseen domain, only
   ever scored on) has a third palette, a low sun or the blue hour, lamps and lit windows,
   motion blur and low-light noise.

`render_scene(seed, domain)` runs the three. The label depends on the layout only, so the
same seed gives the same label map in every domain; the dataset builder gives each
(domain, split) its own seed range so that no scene is shared.

Modules, in pipeline order:

- `ids`: trainIds (from `gta_keras.protocols`), domains, part and surface ids.
- `street`: the layout dataclasses (camera, ground, planes, things).
- `sampling`: `sample_layout`, what goes where.
- `geometry`: projection, the `Raster` of per-pixel maps, and shape regions.
- `drawing`: `rasterize`, and painting the ground and the vertical planes.
- `thing_drawing`: painting trees, poles, people, vehicles and bicycles.
- `palettes`: the domains' colours.
- `shading`: `shade`, colours per instance and part from the appearance RNG.
- `noise`, `photograph`: the realistic domain's textures, lighting and camera.
- `dusk`: the dusk domain's light, sky, emitters and low-light camera (on `photograph`'s
  textures).
"""

import numpy as np

from gta_keras import protocols
from gta_keras.datasets.procedural_streets.scene_renderer import ids
# The public names, re-exported so that callers need only this package.
from gta_keras.datasets.procedural_streets.scene_renderer.drawing import rasterize
from gta_keras.datasets.procedural_streets.scene_renderer.ids import (
    BICYCLE, BUILDING, BUS, CAR, DOMAINS, FENCE, PERSON, POLE, RENDERED_TRAIN_IDS, RIDER,
    ROAD, SIDEWALK, SKY, TERRAIN, TRAFFIC_LIGHT, TRAFFIC_SIGN, TRAIN_IDS, TRUCK, VEGETATION,
    VOID, WALL)
from gta_keras.datasets.procedural_streets.scene_renderer.palettes import PALETTES
from gta_keras.datasets.procedural_streets.scene_renderer.sampling import sample_layout
from gta_keras.datasets.procedural_streets.scene_renderer.shading import shade

__all__ = [
    "BICYCLE", "BUILDING", "BUS", "CAR", "DOMAINS", "FENCE", "PALETTES", "PERSON", "POLE",
    "RENDERED_TRAIN_IDS", "RIDER", "ROAD", "SIDEWALK", "SKY", "TERRAIN", "TRAFFIC_LIGHT",
    "TRAFFIC_SIGN", "TRAIN_IDS", "TRUCK", "VEGETATION", "VOID", "WALL", "colorize_labels",
    "rasterize", "render_scene", "sample_layout", "shade",
]


def render_scene(seed, domain, height=128, width=256):
    """Renders one street scene.

    The label depends only on (seed, height, width); the domain changes appearance only.

    Args:
      seed: a non-negative integer; the same arguments always give the same output.
      domain: one of DOMAINS: "synthetic", "realistic" or "dusk".
      height: image height in pixels.
      width: image width in pixels.

    Returns:
      (image, label): uint8 [height, width, 3] RGB and uint8 [height, width] trainIds.

    Raises:
      ValueError: for an unknown domain.
    """
    # Checked before any work, not only in `shade`: a typo should not cost a layout.
    ids.check_domain(domain)
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
    lut[:len(protocols.CITYSCAPES_PALETTE)] = protocols.CITYSCAPES_PALETTE
    return lut[label]
