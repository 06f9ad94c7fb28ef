"""Draw the app's icons (the web app manifest's, chatserver/pwa.py) into assets/icons/.

    python3 docs/make_icons.py

Run once; the PNGs are committed. No imaging library: the shapes (a rounded square and
a speech bubble with three dots) are signed-distance tests sampled 4×4 per pixel, and
the PNG is written with zlib (RFC 2083: signature, IHDR, IDAT, IEND; 8-bit RGBA).

* ``icon-192.png``, ``icon-512.png`` (purpose ``any``): the rounded square on a
  transparent background;
* ``icon-maskable-512.png`` (purpose ``maskable``): the background fills the whole
  square and the bubble stays inside the safe zone (the centre circle of radius 40 %,
  https://www.w3.org/TR/appmanifest/#icon-masks), so any mask shape keeps it whole.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "assets" / "icons"
BLUE = (22, 119, 255)  # antd's primary #1677ff, the manifest's theme_color
WHITE = (255, 255, 255)
SAMPLES = 4  # per axis: 16 samples a pixel for smooth edges


def png(width: int, height: int, rgba: bytes) -> bytes:
    """An 8-bit RGBA PNG of ``rgba`` (row-major, 4 bytes a pixel), filter 0 on every row."""
    rows = b"".join(b"\x00" + rgba[y * width * 4:(y + 1) * width * 4] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def rounded_box(x: float, y: float, cx: float, cy: float, hw: float, hh: float, r: float) -> bool:
    """True inside the box centred on (cx, cy), half sizes hw × hh, corner radius r."""
    dx, dy = max(abs(x - cx) - (hw - r), 0.0), max(abs(y - cy) - (hh - r), 0.0)
    return abs(x - cx) <= hw and abs(y - cy) <= hh and dx * dx + dy * dy <= r * r


def bubble(x: float, y: float) -> str | None:
    """The foreground at (x, y) in unit coordinates centred on 0.5: "dot", "bubble" or None."""
    for dot_x in (0.36, 0.5, 0.64):
        if (x - dot_x) ** 2 + (y - 0.455) ** 2 <= 0.045 ** 2:
            return "dot"
    if rounded_box(x, y, 0.5, 0.455, 0.27, 0.19, 0.11):
        return "bubble"
    # the tail: a triangle below the bubble's lower left
    if 0.6 <= y <= 0.76 and 0.3 <= x <= 0.44 and (x - 0.3) <= (0.76 - y) * 0.875:
        return "bubble"
    return None


def draw(size: int, maskable: bool) -> bytes:
    """The RGBA pixels of one icon ``size`` × ``size``."""
    scale = 0.78 if maskable else 0.92  # the bubble's size against the square
    out = bytearray()
    for py in range(size):
        for px in range(size):
            alpha = red = green = blue = 0.0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) / size
                    y = (py + (sy + 0.5) / SAMPLES) / size
                    inside = maskable or rounded_box(x, y, 0.5, 0.5, 0.5, 0.5, 0.22)
                    if not inside:
                        continue
                    part = bubble(0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale)
                    colour = WHITE if part == "bubble" else BLUE
                    alpha += 1
                    red, green, blue = red + colour[0], green + colour[1], blue + colour[2]
            n = SAMPLES * SAMPLES
            if alpha:
                out += bytes((round(red / alpha), round(green / alpha), round(blue / alpha), round(255 * alpha / n)))
            else:
                out += b"\x00\x00\x00\x00"
    return bytes(out)


def main() -> None:
    """Write the three icons and print their sizes."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (("icon-192.png", 192, False), ("icon-512.png", 512, False), ("icon-maskable-512.png", 512, True)):
        data = png(size, size, draw(size, maskable))
        (OUT / name).write_bytes(data)
        print(f"{name}: {size}×{size}, {len(data)} bytes")


if __name__ == "__main__":
    main()
