"""QR codes for join posters, member cards, course tickets and station check-in posters.

Error correction is "M" (about 15% of the symbol recoverable): enough for a scuffed or partly
covered poster while keeping modules large enough for cheap phone cameras. segno would otherwise
raise the level whenever it fits for free; that is switched off so every printed poster carries the
same, documented level.
"""

from __future__ import annotations

import io

import segno

ERROR_CORRECTION = "M"


def qr_png(data: str, *, scale: int = 8, border: int = 4) -> bytes:
    return _render(data, kind="png", scale=scale, border=border)


def qr_svg(data: str, *, scale: int = 8, border: int = 4) -> bytes:
    return _render(data, kind="svg", scale=scale, border=border)


def _render(data: str, *, kind: str, scale: int, border: int) -> bytes:
    if not data:
        raise ValueError("refusing to render an empty QR code")
    if scale < 1 or border < 0:
        raise ValueError("scale must be at least 1 and border cannot be negative")
    # border=4 is the quiet zone the QR standard asks for; phone cameras in poor light need it.
    code = segno.make(data, error=ERROR_CORRECTION, boost_error=False, micro=False)
    out = io.BytesIO()
    code.save(out, kind=kind, scale=scale, border=border)
    return out.getvalue()
