"""The domains' colours: what each instance kind and part may look like.

`synthetic` is saturated, bright and clean, like a game; `realistic` is duller, darker and
greyer, like a photograph; `dusk` has its own materials (sandstone, brick, bluish asphalt)
whose colours its low, warm light and blue sky fill change again. Each instance picks one of its kind's candidate colours when a
scene is shaded (`shading`); parts (windows, tyres, markings, ...) have one colour per
domain. The palettes decide colours only, never labels.
"""

import dataclasses
import functools

import numpy as np

from gta_keras.datasets.procedural_streets.scene_renderer import ids


@dataclasses.dataclass(frozen=True)
class Palette:
    """Colours of one domain.

    Attributes:
      kinds: instance kind -> candidate RGB colours; each instance picks one.
      parts: default RGB colour of each part, [ids.NUM_PARTS, 3].
      clothes: candidate colours of clothes (ids.PART_TOP, ids.PART_BOTTOM).
      lights: instance kind -> RGB of its ids.PART_LIGHT.
      jitter: standard deviation of the per-instance brightness jitter (a quarter of it
        goes to each channel on its own).
      shade: brightness of ids.PART_SHADED (sides and tops of vehicles) relative to the base.
    """

    kinds: dict
    parts: np.ndarray
    clothes: tuple
    lights: dict
    jitter: float
    shade: float


def _parts(colours):
    """A [ids.NUM_PARTS, 3] table from {part id: RGB}; unlisted parts are black."""
    table = np.zeros((ids.NUM_PARTS, 3), np.float32)
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
    parts=_parts({ids.PART_WINDOW: (70, 115, 180), ids.PART_GLASS: (45, 62, 95),
                  ids.PART_TYRE: (22, 22, 22), ids.PART_LIGHT: (255, 40, 40),
                  ids.PART_MARKING: (240, 240, 240), ids.PART_KERB: (172, 172, 180),
                  ids.PART_TRUNK: (125, 82, 45), ids.PART_SKIN: (236, 188, 150)}),
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
    parts=_parts({ids.PART_WINDOW: (58, 80, 110), ids.PART_GLASS: (42, 50, 62),
                  ids.PART_TYRE: (24, 24, 24), ids.PART_LIGHT: (200, 40, 36),
                  ids.PART_MARKING: (216, 216, 210), ids.PART_KERB: (156, 154, 150),
                  ids.PART_TRUNK: (90, 70, 50), ids.PART_SKIN: (205, 165, 140)}),
    clothes=((38, 38, 44), (70, 72, 92), (112, 92, 72), (150, 150, 154), (122, 42, 40),
             (62, 82, 62), (190, 186, 176)),
    lights={"car_front": (226, 226, 212), "traffic_light": (60, 200, 120),
            "pole": (230, 226, 200)},
    jitter=10.0,
    shade=0.68,
)

# Materials of the unseen third domain: hues of their own (sandstone, dark brick, mauve
# plaster, bluish asphalt, darker greens), not those of either training domain. They are
# reflectances: `dusk` lights them with a dim blue fill and a low warm sun, so the image is
# far darker than these values. The sky entries are the zenith's deep blues (the horizon's
# warm colours come from `dusk`). Lights are emissive there: headlights, sodium street
# lamps, amber traffic lights, red tail lights.
_DUSK = Palette(
    kinds={
        "sky": [(34, 50, 104), (44, 56, 120), (28, 40, 86), (58, 58, 116)],
        "road": [(70, 72, 80), (86, 84, 86), (62, 64, 70)],
        "sidewalk": [(138, 134, 130), (124, 122, 128), (150, 140, 126)],
        "terrain": [(96, 118, 62), (108, 112, 70)],
        "building": [(176, 150, 120), (150, 96, 80), (128, 132, 138), (190, 176, 160),
                     (112, 104, 100), (160, 136, 150), (170, 120, 96)],
        "wall": [(150, 146, 136), (128, 118, 108)],
        "fence": [(92, 96, 92), (120, 96, 72)],
        "treeline": [(50, 96, 50)], "tree": [(56, 100, 46), (64, 108, 52)],
        "bush": [(60, 104, 44)], "hedge": [(46, 92, 52)],
        "pole": [(90, 94, 100), (110, 104, 96)],
        "traffic_light": [(30, 32, 34)],
        "sign_circle": [(210, 50, 56)], "sign_rect": [(44, 96, 190)],
        "sign_triangle": [(240, 220, 140)], "sign_diamond": [(236, 196, 70)],
        "sign_octagon": [(196, 40, 48)],
        "person": [(130, 130, 130)], "rider": [(130, 130, 130)],
        "car": [(28, 30, 36), (200, 200, 204), (120, 30, 30), (40, 60, 96), (150, 150, 140),
                (70, 80, 70), (180, 150, 60)],
        "bus": [(60, 110, 170), (200, 200, 190)], "truck": [(170, 170, 166), (140, 60, 40)],
        "bicycle": [(30, 30, 30), (40, 90, 120)],
    },
    parts=_parts({ids.PART_WINDOW: (46, 58, 76), ids.PART_GLASS: (36, 42, 54),
                  ids.PART_TYRE: (20, 20, 22), ids.PART_LIGHT: (255, 40, 30),
                  ids.PART_MARKING: (224, 222, 210), ids.PART_KERB: (146, 146, 148),
                  ids.PART_TRUNK: (80, 62, 48), ids.PART_SKIN: (200, 160, 136)}),
    clothes=((34, 36, 44), (96, 60, 40), (60, 70, 110), (160, 160, 156), (140, 110, 50),
             (110, 40, 60), (200, 196, 186)),
    lights={"car_front": (255, 240, 190), "traffic_light": (255, 170, 40),
            "pole": (255, 196, 110)},
    jitter=10.0,
    shade=0.7,
)
PALETTES = {"synthetic": _SYNTHETIC, "realistic": _REALISTIC, "dusk": _DUSK}
# Instance kinds with no palette entry of their own borrow another kind's colours.
_KIND_ALIASES = {"car_front": "car"}


@functools.lru_cache(maxsize=None)
def palette_arrays(domain):
    """A domain's palette as flat arrays, so that colouring needs no per-instance loop.

    Args:
      domain: a key of PALETTES.

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
