"""The ticket preview (kiosk/ticket_preview.py) is drawn from the same layout as the
ESC/POS bytes; its QR holds exactly what the printer is sent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.printer import profile_info
from kiosk.ticket_layout import Line, Qr, width
from kiosk.ticket_preview import qr_matrix, render_png

from .test_kiosk_print import _doc

ARTIFACTS = Path(__file__).parent / "artifacts" / "tickets"
DOCS = Path(__file__).parent.parent / "docs" / "screens" / "ticket"


@pytest.mark.parametrize("name", ["tm-t20ii_link_zh", "pos-5890_link_no_secret_en", "tm-t20ii_matter_zh",
                                  "pos-5890_bundle_elderly_zh"])
def test_preview_is_the_printed_layout_and_its_qr_holds_the_link(name):
    doc, pc = _doc(name)
    info = profile_info(pc.profile)
    pv = render_png(doc, info["pixels"])
    img = pv.image
    assert img.width == info["pixels"]  # the paper: 576 dots on 80 mm, 384 on 58 mm
    # every line inside the paper, in printer columns (what the ESC/POS bytes do too)
    assert all(width(it.text) * it.scale <= info["cols"] for it in doc.items if isinstance(it, Line))
    # the QR's modules, sampled at their centres, are the modules of the printed data
    data = next(it.data for it in doc.items if isinstance(it, Qr))
    mat = qr_matrix(data)
    x0, y0, mod = pv.qr_box
    px = img.load()
    drawn = [[px[x0 + c * mod + mod // 2, y0 + r * mod + mod // 2] < 128 for c in range(len(mat))]
             for r in range(len(mat))]
    assert drawn == mat
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    img.save(ARTIFACTS / f"{name}.png")
    if os.environ.get("ONEWINDOW_PUBLISH_SCREENS") and "_link" in name:
        DOCS.mkdir(parents=True, exist_ok=True)
        img.save(DOCS / f"{pc.profile}.png")


def test_preview_qr_check_can_fail():
    doc, pc = _doc("tm-t20ii_link_zh")
    pv = render_png(doc, profile_info(pc.profile)["pixels"])
    other = qr_matrix("https://xh.zwfw.example.cn/q/t/20261121-A001?s=WRONG000")
    x0, y0, mod = pv.qr_box
    px = pv.image.load()
    drawn = [[px[x0 + c * mod + mod // 2, y0 + r * mod + mod // 2] < 128 for c in range(len(other))]
             for r in range(len(other))]
    assert drawn != other
