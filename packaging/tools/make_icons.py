"""Draw the application and bundle icons (PNG sizes and a Windows .ico) into resources/icons/.

Run once after changing the design: ``python packaging/tools/make_icons.py``. The outputs are
committed, so building needs no drawing step.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[2] / "resources" / "icons"
BLUE = (21, 76, 121, 255)
LIGHT = (236, 242, 248, 255)
ACCENT = (242, 169, 0, 255)


def app_icon(size: int = 1024) -> Image.Image:
    """Five connected circles (the five action areas, networked) on a rounded blue square."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=BLUE)
    centre = size / 2
    points = []
    for k in range(5):
        angle = -math.pi / 2 + k * 2 * math.pi / 5
        points.append((centre + size * 0.30 * math.cos(angle),
                       centre + size * 0.30 * math.sin(angle)))
    width = max(2, size // 40)
    for a in points:
        d.line((a, (centre, centre)), fill=LIGHT, width=width)
    for i, a in enumerate(points):
        b = points[(i + 1) % 5]
        d.line((a, b), fill=LIGHT, width=width)
    r = size * 0.075
    for x, y in points:
        d.ellipse((x - r, y - r, x + r, y + r), fill=LIGHT)
    r2 = size * 0.11
    d.ellipse((centre - r2, centre - r2, centre + r2, centre + r2), fill=ACCENT)
    return img


def bundle_icon(size: int = 1024) -> Image.Image:
    """A document with a folded corner and the app mark: the file type of bundles."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    fold = size * 0.25
    left, top, right, bottom = size * 0.14, size * 0.04, size * 0.86, size * 0.96
    d.polygon([(left, top), (right - fold, top), (right, top + fold), (right, bottom),
               (left, bottom)], fill=LIGHT, outline=BLUE, width=max(2, size // 60))
    d.polygon([(right - fold, top), (right - fold, top + fold), (right, top + fold)],
              fill=BLUE)
    mark = app_icon(int(size * 0.5))
    img.alpha_composite(mark, (int(size * 0.25), int(size * 0.38)))
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, draw in (("integrationsplaner", app_icon), ("buendel", bundle_icon)):
        big = draw()
        for px in (16, 32, 48, 64, 128, 256):
            big.resize((px, px), Image.LANCZOS).save(OUT / f"{name}-{px}.png")
        big.resize((256, 256), Image.LANCZOS).save(
            OUT / f"{name}.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64),
                                        (128, 128), (256, 256)])


if __name__ == "__main__":
    main()
