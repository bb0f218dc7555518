"""QR images of channel codes (segno): SVG for print, PNG for chat and screens."""

from __future__ import annotations

import io

import segno

# Level M survives a scuffed counter sticker; a quiet zone of 4 modules is what scanners expect.
ERROR_LEVEL = "m"
BORDER = 4


def qr_svg(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    _make(url).save(out, kind="svg", scale=scale, border=BORDER, xmldecl=False)
    return out.getvalue()


def qr_png(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    _make(url).save(out, kind="png", scale=scale, border=BORDER)
    return out.getvalue()


def qr_both(url: str, scale: int = 8) -> tuple[bytes, bytes]:
    """PNG and SVG of one code, encoded once (encoding is most of the cost)."""
    code = _make(url)
    png, svg = io.BytesIO(), io.BytesIO()
    code.save(png, kind="png", scale=scale, border=BORDER)
    code.save(svg, kind="svg", scale=scale, border=BORDER, xmldecl=False)
    return png.getvalue(), svg.getvalue()


def _make(url: str):
    return segno.make(url, error=ERROR_LEVEL, micro=False)
