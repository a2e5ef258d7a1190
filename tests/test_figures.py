"""The predictions figure: the grid where expected, column titles above, a legend below."""

import types

import numpy as np
from PIL import Image
from PIL import ImageFont
import pytest

from gta_keras import figures
from gta_keras import protocols

H, W = 32, 64  # the smoke run's evaluation size: panels narrower than MIN_PANEL_WIDTH
BLOCK_TITLES = ("procedural_streets/synthetic:validation",
                "procedural_streets/realistic:validation")


def _block(seed, rows=2, columns=4):
    """rows x columns panels of random pixels, as `prediction_rows` returns them."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (rows, H, columns * W, 3), dtype=np.uint8)


def _find_rows(figure, part):
    """The row where `part` (same width as the figure) starts inside `figure`."""
    for top in range(figure.shape[0] - part.shape[0] + 1):
        if np.array_equal(figure[top:top + part.shape[0]], part):
            return top
    raise AssertionError("part not found in the figure")


def _colours(region):
    return set(map(tuple, region.reshape(-1, 3).tolist()))


def test_titled_grid_layout(tmp_path):
    blocks = [_block(0), _block(1)]
    path = str(tmp_path / "figures" / "predictions.png")
    figures.save_grid(blocks, path, column_titles=figures.COLUMN_TITLES,
                      class_names=protocols.CITYSCAPES_CLASSES, block_titles=BLOCK_TITLES)
    figure = np.asarray(Image.open(path).convert("RGB"))

    scale = figures.MIN_PANEL_WIDTH // W  # 64-pixel panels are doubled for the titles
    assert scale == 2
    enlarged = [np.concatenate(list(b)).repeat(scale, 0).repeat(scale, 1) for b in blocks]
    assert figure.shape[1] == 4 * W * scale
    first, second = _find_rows(figure, enlarged[0]), _find_rows(figure, enlarged[1])
    block_height = 2 * H * scale
    legend = figure[second + block_height:]
    # Title strip and first block title above the first block, the second block's title
    # between the blocks, the legend below: nothing else, so this is the PNG's height.
    assert first > 0 and second > first + block_height and legend.shape[0] > 0
    assert figure.shape[0] == second + block_height + legend.shape[0]

    # The column-title strip has text above every column; the block titles too.
    line = sum(ImageFont.load_default(size=figures.FONT_SIZE).getmetrics())
    strip = figure[:line + 2 * figures.PAD]
    for column in range(4):
        panel = strip[:, column * W * scale:(column + 1) * W * scale]
        assert _colours(panel) - {figures.BACKGROUND}, f"column {column} has no title"
    assert _colours(figure[first + block_height:second]) - {figures.BACKGROUND}

    # The legend shows every class colour and void's black.
    colours = _colours(legend)
    for rgb in protocols.CITYSCAPES_PALETTE.tolist():
        assert tuple(rgb) in colours, rgb
    assert figures.VOID_COLOUR in colours


def test_titles_are_drawn(tmp_path):
    # Same grid, different titles: the strip above the grid differs.
    blocks = [_block(0)]
    a, b = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    figures.save_grid(blocks, a, column_titles=("input", "prediction", "ground truth",
                                                "G's reconstruction"))
    figures.save_grid(blocks, b, column_titles=("1", "2", "3", "4"))
    a, b = np.asarray(Image.open(a)), np.asarray(Image.open(b))
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_three_columns_and_wide_panels(tmp_path):
    # A model without G: three columns; 128-pixel panels are not enlarged.
    rng = np.random.default_rng(0)
    block = rng.integers(0, 256, (1, 64, 3 * 128, 3), dtype=np.uint8)
    path = str(tmp_path / "p.png")
    figures.save_grid([block], path, column_titles=figures.COLUMN_TITLES[:3],
                      class_names=protocols.CITYSCAPES_CLASSES)
    figure = np.asarray(Image.open(path).convert("RGB"))
    assert figure.shape[1] == 3 * 128
    assert _find_rows(figure, block[0]) > 0


def test_bare_grid_is_unchanged(tmp_path):
    blocks = [_block(0), _block(1, rows=1)]
    path = str(tmp_path / "p.png")
    figures.save_grid(blocks, path)
    expected = np.concatenate([np.concatenate(list(b)) for b in blocks])
    np.testing.assert_array_equal(np.asarray(Image.open(path)), expected)


def test_bad_layouts_are_refused(tmp_path):
    path = str(tmp_path / "p.png")
    odd = np.zeros((1, H, 4 * W + 2, 3), np.uint8)
    with pytest.raises(ValueError, match="columns"):
        figures.save_grid([odd], path, column_titles=figures.COLUMN_TITLES)
    with pytest.raises(ValueError, match="block titles"):
        figures.save_grid([_block(0)], path, block_titles=BLOCK_TITLES)
    with pytest.raises(ValueError, match="palette"):
        figures.save_grid([_block(0)], path, class_names=[str(i) for i in range(20)])


def test_prediction_column_titles():
    with_g = types.SimpleNamespace(generator=object())
    without_g = types.SimpleNamespace(generator=None)
    assert figures.prediction_column_titles(with_g) == (
        "input", "prediction", "ground truth", "G's reconstruction")
    assert figures.prediction_column_titles(without_g) == (
        "input", "prediction", "ground truth")
