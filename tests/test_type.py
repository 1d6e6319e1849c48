"""The screens' type: the Simplified Chinese face of Noto CJK with real weights,
and Traditional names made from the Simplified ones."""

from __future__ import annotations

import pytest

from hall import fonts
from hall.config.base import Names


@pytest.mark.parametrize("weight, weight_class", [("Regular", 400), ("Bold", 700)])
def test_the_sc_face_is_taken_from_the_collection_in_both_weights(weight, weight_class):
    from fontTools.ttLib import TTFont
    f = TTFont(str(fonts.cjk_font(weight)))
    assert f["name"].getDebugName(1) == "Noto Sans CJK SC"   # face 0 of the .ttc is JP
    assert f["OS/2"].usWeightClass == weight_class
    # full-width punctuation: a whole em of advance with the mark in its left
    # half, as Simplified Chinese sets it (no extra gap after a half advance)
    cmap, hmtx, glyf = f.getBestCmap(), f["hmtx"], f.getGlyphSet()
    for mark in "，。、：":
        name = cmap[ord(mark)]
        advance, _ = hmtx[name]
        assert advance == f["head"].unitsPerEm
        from fontTools.pens.boundsPen import BoundsPen
        pen = BoundsPen(glyf)
        glyf[name].draw(pen)
        assert pen.bounds[2] < advance / 2, mark


def test_extraction_is_by_name_and_a_missing_collection_names_the_package(tmp_path, monkeypatch):
    assert fonts.face_index(fonts.collection("Regular")) == 2
    monkeypatch.setenv("ONEWINDOW_FONT_DIR", str(tmp_path))
    monkeypatch.setattr(fonts, "NOTO_DIR", tmp_path / "nowhere")
    with pytest.raises(fonts.FontMissing, match="fonts-noto-cjk"):
        fonts.cjk_font("Regular")


def test_traditional_names_come_from_opencc_unless_the_config_gives_them():
    assert Names(zh="公积金区", en="Housing fund").get("zh-TW") == "公積金區"
    assert Names(zh="到 5 号窗口", en="x").get("zh-TW") == "到 5 號窗口"   # not 視窗 (s2twp would)
    assert Names(zh="西湖区", en="x", tw="西湖區（自訂）").get("zh-TW") == "西湖區（自訂）"
    assert Names(zh="西湖区", en="Xihu").get("zh-CN") == "西湖区"
