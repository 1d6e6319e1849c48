"""A PNG picture of a ticket, drawn from the same :class:`~kiosk.ticket_layout.TicketDoc`
that :func:`kiosk.printer.render` turns into ESC/POS bytes: one layout, two renderers.

It draws what the printer does, in printer dots: the paper is the profile's
width in dots (576 on 80 mm, 384 on 58 mm), font A is 12×24 dots (a Han
character 24×24), ``GS !`` magnifies both ways, a line advances 30 dots at
scale 1 (the printers' default line spacing), and the QR has 6-dot modules
like ``esc.qr(size=6)``.  Glyph shapes are Noto Sans CJK SC, not the printer's
ROM font, so a preview is faithful in layout and size, not in typeface.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ticket_layout import Line, Qr, Rule, TicketDoc, width

DOT_H = 24          # font A height, dots
LINE_ADVANCE = 30   # default line spacing (ESC 2), dots
QR_MODULE = 6       # esc.qr(size=6)
MARGIN = 8


@dataclass(frozen=True)
class Preview:
    image: object                      # PIL.Image.Image
    qr_box: tuple[int, int, int] | None  # (x, y, module size) of the QR's first module, for tests


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR's modules as the printer builds them (error correction L, python-escpos' default)."""
    import qrcode
    q = qrcode.QRCode(version=None, error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=1, border=0)
    q.add_data(data)
    q.make(fit=True)
    return [list(row) for row in q.get_matrix()]


def render_png(doc: TicketDoc, pixels: int) -> Preview:
    from PIL import Image, ImageDraw, ImageFont

    from hall.fonts import cjk_font

    fonts: dict[tuple[bool, int, bool], ImageFont.FreeTypeFont] = {}

    def font(bold: bool, scale: int, narrow: bool) -> ImageFont.FreeTypeFont:
        # a Latin glyph of Noto is ~0.6 em: 20 dots keep it inside its 12-dot column
        key = (bold, scale, narrow)
        if key not in fonts:
            fonts[key] = ImageFont.truetype(str(cjk_font("Bold" if bold else "Regular")),
                                            (20 if narrow else DOT_H) * scale)
        return fonts[key]

    # first pass: heights, so the paper is as long as the ticket
    height = MARGIN
    for it in doc.items:
        if isinstance(it, Line):
            height += LINE_ADVANCE * it.scale
        elif isinstance(it, Rule):
            height += LINE_ADVANCE
        elif isinstance(it, Qr):
            height += (len(qr_matrix(it.data)) + 8) * QR_MODULE
    height += MARGIN
    img = Image.new("L", (pixels, height), 255)
    draw = ImageDraw.Draw(img)
    y = MARGIN
    qr_box = None
    for it in doc.items:
        if isinstance(it, Line):
            # character cells as the printer sets them: 12 dots a column, two for a
            # Han character or full-width mark, each glyph centred in its cell
            cols = width(it.text)
            x = (pixels - cols * 12 * it.scale) / 2 if it.align == "center" else 0
            mid = y + LINE_ADVANCE * it.scale / 2
            for ch in it.text:
                cw = 12 * it.scale * (2 if width(ch) == 2 else 1)
                f = font(it.bold, it.scale, narrow=width(ch) == 1)
                draw.text((x + cw / 2, mid), ch, font=f, fill=0, anchor="mm")
                x += cw
            y += LINE_ADVANCE * it.scale
        elif isinstance(it, Rule):
            dash = 12  # one column of font A
            for x in range(0, pixels, dash):
                draw.line([(x + 2, y + LINE_ADVANCE // 2), (x + dash - 3, y + LINE_ADVANCE // 2)], fill=0, width=2)
            y += LINE_ADVANCE
        elif isinstance(it, Qr):
            mat = qr_matrix(it.data)
            n = len(mat)
            x0 = (pixels - n * QR_MODULE) // 2
            y0 = y + 4 * QR_MODULE  # quiet zone
            for r, row in enumerate(mat):
                for c, on in enumerate(row):
                    if on:
                        draw.rectangle([x0 + c * QR_MODULE, y0 + r * QR_MODULE,
                                        x0 + (c + 1) * QR_MODULE - 1, y0 + (r + 1) * QR_MODULE - 1], fill=0)
            qr_box = (x0, y0, QR_MODULE)
            y += (n + 8) * QR_MODULE
    return Preview(img, qr_box)
