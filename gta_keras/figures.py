"""A PNG grid of inputs, predictions, labels and G's reconstructions, for a quick look."""

import os

import numpy as np
import tensorflow as tf
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from gta_keras import protocols
from gta_keras.models import segmenter

CITYSCAPES_PALETTE = protocols.CITYSCAPES_PALETTE
CITYSCAPES_CLASSES = protocols.CITYSCAPES_CLASSES  # the names of the palette's colours
COLUMN_TITLES = ("input", "prediction", "ground truth", "G's reconstruction")
# Drawing, in pixels and RGB. Panels narrower than MIN_PANEL_WIDTH (the smoke run's are 64
# wide) are enlarged until "G's reconstruction" fits above them in PIL's default font.
MIN_PANEL_WIDTH = 128
FONT_SIZE = 12
PAD = 4
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)
OUTLINE = (128, 128, 128)
VOID_COLOUR = (0, 0, 0)


def colorize(labels):
    """Class ids [..., H, W] -> RGB uint8 [..., H, W, 3]; unknown ids and void are black."""
    labels = np.asarray(labels)
    palette = np.zeros((256, 3), np.uint8)
    palette[:len(CITYSCAPES_PALETTE)] = CITYSCAPES_PALETTE
    return palette[labels.astype(np.int64) % 256]


def prediction_rows(model, images, labels):
    """One row per image: input | prediction | ground truth | G's reconstruction.

    Args:
      model: a `DomainAdaptationModel`.
      images: float [B, H, W, 3] RGB in [0, 255], sides divisible by 32.
      labels: uint8 [B, H, W, 1].

    Returns:
      uint8 [B, H, 4 W, 3] (3 W for a model without a generator).
    """
    features, logits = segmenter.segment(model.embedder, model.classifier, images)
    predictions = tf.argmax(logits, -1).numpy()
    panels = [np.asarray(images).astype(np.uint8), colorize(predictions),
              colorize(np.asarray(labels)[..., 0])]
    if model.generator is not None:
        reconstruction = model.generator(features, training=False).numpy()
        panels.append((np.clip(reconstruction, 0, 1) * 255).astype(np.uint8))
    return np.concatenate(panels, axis=2)


def prediction_column_titles(model):
    """The titles of `prediction_rows(model, ...)`'s columns: three, or four with G."""
    return COLUMN_TITLES if model.generator is not None else COLUMN_TITLES[:3]


def save_grid(rows_by_domain, path, column_titles=None, class_names=None,
              block_titles=None):
    """Stacks row blocks (one per domain) vertically and writes a PNG.

    With titles or class names, the grid gets a title strip above its columns, a title
    above each block and a legend of the class colours below it, all on white; without,
    it is the bare grid. Panels narrower than `MIN_PANEL_WIDTH` are then enlarged by a
    whole factor (nearest neighbour, so class colours stay exact) for the titles to fit.

    Args:
      rows_by_domain: list of uint8 [B, H, W', 3] arrays, all W' wide.
      path: output PNG path; its folder is created.
      column_titles: one title per column (W' is split evenly among them), e.g.
        `prediction_column_titles(model)`; None for no title strip.
      class_names: names of the classes coloured by `CITYSCAPES_PALETTE`, in id order,
        e.g. `CITYSCAPES_CLASSES`; None for no legend. The legend also shows
        void (black, as `colorize` draws it).
      block_titles: one title per block, e.g. "procedural_streets/realistic:validation";
        None for none.

    Raises:
      ValueError: W' does not split into the columns, block titles do not match the
        blocks, or there are more class names than palette colours.
    """
    blocks = [np.concatenate(list(rows), axis=0) for rows in rows_by_domain]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if column_titles is None and class_names is None and block_titles is None:
        Image.fromarray(np.concatenate(blocks, axis=0)).save(path)
        return
    width = blocks[0].shape[1]
    scale = 1
    if column_titles:
        if width % len(column_titles):
            raise ValueError(f"Rows {width} pixels wide do not split into "
                             f"{len(column_titles)} columns {list(column_titles)}.")
        scale = -(-MIN_PANEL_WIDTH // (width // len(column_titles)))  # ceil, >= 1
    if block_titles is not None and len(block_titles) != len(blocks):
        raise ValueError(f"{len(block_titles)} block titles for {len(blocks)} blocks.")
    if class_names is not None and len(class_names) > len(CITYSCAPES_PALETTE):
        raise ValueError(f"{len(class_names)} class names but only "
                         f"{len(CITYSCAPES_PALETTE)} palette colours.")
    width *= scale
    font = ImageFont.load_default(size=FONT_SIZE)
    pieces = []
    if column_titles:
        pieces.append(_title_strip(column_titles, width, font))
    for i, block in enumerate(blocks):
        if block_titles is not None:
            pieces.append(_title_strip([block_titles[i]], width, font, align="left"))
        pieces.append(Image.fromarray(block.repeat(scale, axis=0).repeat(scale, axis=1)))
    if class_names is not None:
        entries = list(zip(class_names, map(tuple, CITYSCAPES_PALETTE.tolist())))
        pieces.append(_legend(entries + [("void", VOID_COLOUR)], width, font))
    figure = Image.new("RGB", (width, sum(piece.height for piece in pieces)), BACKGROUND)
    top = 0
    for piece in pieces:
        figure.paste(piece, (0, top))
        top += piece.height
    figure.save(path)


def _line_height(font):
    ascent, descent = font.getmetrics()
    return ascent + descent


def _text_width(font, text):
    return int(np.ceil(font.getlength(text)))


def _wrap(text, font, width):
    """Lines of `text` at most `width` pixels wide: at spaces, and inside too long words."""
    lines = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and _text_width(font, candidate) <= width:
            lines[-1] = candidate
            continue
        lines.append("")
        for char in word:  # A word too wide for a line of its own is broken.
            if lines[-1] and _text_width(font, lines[-1] + char) > width:
                lines.append("")
            lines[-1] += char
    return lines or [""]


def _title_strip(titles, width, font, align="center"):
    """White strip, `width` wide, with one title per equal column (wrapped to fit)."""
    column = width // len(titles)
    wrapped = [_wrap(title, font, column - 2 * PAD) for title in titles]
    line = _line_height(font)
    strip = Image.new("RGB", (width, max(map(len, wrapped)) * line + 2 * PAD), BACKGROUND)
    draw = ImageDraw.Draw(strip)
    for i, lines in enumerate(wrapped):
        for j, text in enumerate(lines):
            x = (i * column + (column - _text_width(font, text)) // 2 if align == "center"
                 else i * column + PAD)
            draw.text((x, PAD + j * line), text, fill=TEXT, font=font)
    return strip


def _legend(entries, width, font):
    """White strip, `width` wide: a colour swatch and a name per (name, rgb), in rows."""
    line = _line_height(font)
    cell = line + PAD + max(_text_width(font, name) for name, _ in entries) + 3 * PAD
    per_row = max(1, (width - PAD) // cell)
    rows = -(-len(entries) // per_row)
    legend = Image.new("RGB", (width, rows * (line + PAD) + PAD), BACKGROUND)
    draw = ImageDraw.Draw(legend)
    for i, (name, colour) in enumerate(entries):
        x, y = PAD + (i % per_row) * cell, PAD + (i // per_row) * (line + PAD)
        # An outline, so that light colours (sidewalk, terrain) stand out from the white.
        draw.rectangle((x, y, x + line - 1, y + line - 1), fill=colour, outline=OUTLINE)
        draw.text((x + line + PAD, y), name, fill=TEXT, font=font)
    return legend
