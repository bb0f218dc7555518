"""QR images of channel codes (segno): SVG for print shops, PNG large enough to print."""

from __future__ import annotations

import io

import segno

# Level M survives a scuffed counter sticker; a quiet zone of 4 modules is what scanners expect.
ERROR_LEVEL = "m"
BORDER = 4
# A PNG ends up printed (a counter sticker, a poster): at least this many pixels wide, 10 cm at
# 300 dpi. Encoding costs the same; the file stays a few KB (two colours).
PRINT_PX = 1200


def qr_svg(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    _make(url).save(out, kind="svg", scale=scale, border=BORDER, xmldecl=False)
    return out.getvalue()


def qr_png(url: str, px: int = PRINT_PX) -> bytes:
    """A PNG at least `px` wide: a whole number of pixels per module, so edges stay sharp."""
    code = _make(url)
    out = io.BytesIO()
    code.save(out, kind="png", scale=_scale_for(code, px), border=BORDER)
    return out.getvalue()


def qr_both(url: str, px: int = PRINT_PX) -> tuple[bytes, bytes]:
    """PNG and SVG of one code, encoded once (encoding is most of the cost)."""
    code = _make(url)
    png, svg = io.BytesIO(), io.BytesIO()
    code.save(png, kind="png", scale=_scale_for(code, px), border=BORDER)
    code.save(svg, kind="svg", scale=8, border=BORDER, xmldecl=False)
    return png.getvalue(), svg.getvalue()


def _make(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False)


def _scale_for(code: segno.QRCode, px: int) -> int:
    modules = int(code.symbol_size(scale=1, border=BORDER)[0])
    return max(1, -(-px // modules))
