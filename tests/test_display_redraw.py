"""Partial redraws (display/redraw.py): the same picture as whole frames, pixel for pixel.

The wall screen goes through a day's changes (calls, blinks, rows shifting,
a recall, counts, the offline mark, the progress page and back); after each,
the frame drawn from the changed boxes only is read back and compared with
the frame drawn whole.
"""

from __future__ import annotations

from tests import display_kit as kit  # noqa: I001  (sets up headless Kivy first)

import pytest

from display.callboard import CallBoard
from display.feed import board_settings, waiting_order
from display.redraw import Damage, PartialRedraw, merge, minus, overlap
from tests.test_display_screens import SIZES, T0, called, hall, progress_board, waits, z1_board

pytestmark = pytest.mark.ui


# ------------------------------------------------------------------ pure --
def test_damage_gives_the_old_and_new_box_of_what_changed_and_nothing_else():
    d = Damage((1000, 500))
    assert d.update([("a", 1, (10, 10, 50, 20)), ("b", 1, (500, 300, 40, 40))]) is None  # the first frame: whole
    assert d.update([("a", 1, (10, 10, 50, 20)), ("b", 1, (500, 300, 40, 40))]) == []
    # a moved: where it was and where it is (near each other: one box)
    assert d.update([("a", 1, (10, 40, 50, 20)), ("b", 1, (500, 300, 40, 40))]) == [(10, 10, 50, 50)]
    # b changed look, a went away, c came
    assert sorted(d.update([("b", 2, (500, 300, 40, 40)), ("c", 1, (800, 10, 10, 10))])) == [
        (10, 40, 50, 20), (500, 300, 40, 40), (800, 10, 10, 10)]
    # most of the screen changed: drawn whole
    assert d.update([("b", 3, (0, 0, 1000, 400)), ("c", 1, (800, 10, 10, 10))]) is None
    d.reset()
    assert d.update([("b", 3, (0, 0, 1000, 400))]) is None


def test_boxes_are_merged_and_cut_to_the_screen():
    assert merge([(0, 0, 10, 10), (20, 0, 10, 10), (200, 200, 5, 5)], gap=16) == [(0, 0, 30, 10), (200, 200, 5, 5)]
    assert Damage((100, 100)).clip([(-5, 90, 20, 20), (50, 50, 0, 10)]) == [(0, 90, 15, 10)]
    assert minus((0, 0, 100, 100), (10, 10, 80, 80)) == [(0, 0, 100, 10), (0, 90, 100, 10), (0, 10, 10, 80),
                                                        (90, 10, 10, 80)]
    assert minus((20, 20, 10, 10), (0, 0, 100, 100)) == []
    assert minus((0, 0, 10, 10), (50, 50, 5, 5)) == [(0, 0, 10, 10)]


# ------------------------------------------------------------------ drawn --
class Screen:
    """A WallScreen on the test window drawn as the app draws it (clear colour
    as background, partial redraws on)."""

    def __init__(self, cfg):
        from kivy.graphics import opengl as gl
        from display.screen import WallScreen
        from display.theme import BG
        self.gl = gl
        self.win = kit.window()
        self.old_clear = self.win.clearcolor
        self.win.clearcolor = BG
        scr = cfg.screens.displays[0]
        self.board = CallBoard(board_settings(cfg, scr), order=waiting_order(cfg, scr))
        self.board.start(T0 - 10)
        self.board.on_link(True, T0 - 10)
        self.board.on_engine("online")
        self.wall = WallScreen(cfg, scr, tuple(int(v) for v in self.win.size), paint_background=False)
        self.board.progress_capacity = self.wall.progress_capacity
        self.win.add_widget(self.wall)
        self.redraw = PartialRedraw(self.win, clock=lambda: 0.0, full_every=1e9)
        self.keeps_pixels = self.redraw.install()
        kit.pump(2)

    def pixels(self) -> bytes:
        w, h = (int(v) for v in self.win.size)
        self.gl.glFinish()
        return bytes(self.gl.glReadPixels(0, 0, w, h, self.gl.GL_RGBA, self.gl.GL_UNSIGNED_BYTE))

    def step(self, now: float) -> tuple[bytes, bytes, list | None]:
        """Show the view at ``now`` as the app does (the big call first), drawn
        from changed boxes; then the same drawn whole.  Both pictures, and the
        boxes of the partial frame."""
        view = self.board.view(now)
        boxes = []
        while True:
            more = self.wall.show(view, now, hero_first=True)
            kit.pump(1)
            boxes.append(self.redraw.boxes)
            if not more:
                break
        kit.pump(1)
        partial = self.pixels()
        self.redraw.damage.reset()
        self.win.canvas.ask_update()
        kit.pump(1)
        return partial, self.pixels(), boxes

    def close(self):
        self.redraw.remove()
        self.win.remove_widget(self.wall)
        self.win.clearcolor = self.old_clear


@pytest.fixture
def screen():
    made = []

    def make(**kw):
        s = Screen(hall(**kw))
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def a_call_on(screen, layout: str, progress: bool = False) -> Screen:
    """A screen of zone Z1 with its board, waiting counts (and progress board) and A023 called at T0."""
    s = screen(zones=["Z1"], layout=layout, languages=["zh-CN", "en"])
    s.board.on_board(z1_board(), T0)
    s.board.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    if progress:
        s.board.on_progress(progress_board())
    s.board.on_called(called("A023", "5", T0), T0)
    return s


def differs(a: bytes, b: bytes, width: int) -> str:
    bad = [i // 4 for i in range(0, len(a), 4) if a[i:i + 4] != b[i:i + 4]]
    xs, ys = [p % width for p in bad], [p // width for p in bad]
    return f"{len(bad)} pixels differ, x {min(xs)}–{max(xs)}, y {min(ys)}–{max(ys)}" if bad else ""


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_a_day_of_changes_drawn_from_changed_boxes_is_the_picture_drawn_whole(screen, layout):
    s = screen(zones=["Z1"], layout=layout, languages=["zh-CN", "en"])
    assert s.keeps_pixels  # SDL's offscreen surface keeps its pixels: partial redraws are on
    width = int(s.win.width)
    b = s.board
    b.on_board(z1_board(), T0)
    b.on_waiting(waits("Z1", {"A": 12, "Y": 3}))
    b.on_progress(progress_board())
    steps = [
        ("start", T0, lambda: None),
        ("a call, blink on", T0 + 0.1, lambda: b.on_called(called("A023", "5", T0), T0)),
        ("blink off", T0 + 0.6, lambda: None),
        ("a second call: rows shift", T0 + 3.1, lambda: b.on_called(called("A024", "12", T0 + 3), T0 + 3)),
        ("counts change", T0 + 3.7, lambda: b.on_waiting(waits("Z1", {"A": 13, "Y": 2}, at=T0 + 3.5))),
        ("a recall", T0 + 20.1, lambda: b.on_called(called("A023", "5", T0 + 20, recall=1), T0 + 20)),
        ("flash over", T0 + 40, lambda: None),
        ("offline", T0 + 41, lambda: b.on_link(False, T0 + 41)),
        ("back online", T0 + 42, lambda: b.on_link(True, T0 + 42)),
        ("the progress page", T0 + 82, lambda: None),
        ("its next page", T0 + 97, lambda: None),
        ("a call brings the calls back", T0 + 100.1, lambda: b.on_called(called("A025", "3", T0 + 100),
                                                                         T0 + 100)),
        ("the clock turns", T0 + 160, lambda: None),
    ]
    partial_frames = 0
    for name, now, change in steps:
        change()
        partial, whole, boxes = s.step(now)
        assert not differs(partial, whole, width), f"{name}: {differs(partial, whole, width)}"
        partial_frames += sum(1 for x in boxes if x)
    # the frames above were drawn from boxes, not whole (or the test proves nothing)
    assert partial_frames >= 8 and s.redraw.frames["partial"] >= 8


def test_a_new_call_redraws_a_small_part_of_the_screen(screen):
    s = screen(zones=["Z1"], layout="landscape", languages=["zh-CN", "en"])
    s.board.on_board(z1_board(), T0)
    s.board.on_called(called("A023", "5", T0), T0)
    s.step(T0 + 0.7)  # blink phase off
    s.board.on_called(called("A024", "12", T0 + 1), T0 + 1)
    _, _, boxes = s.step(T0 + 1.7)
    W, H = SIZES["landscape"]
    area = sum(w * h for frame in boxes if frame for _, _, w, h in frame)
    w, h = (int(v) for v in s.win.size)
    assert boxes[0] and 0 < area < 0.5 * w * h  # the big call first, then the rows: far less than a screen


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_a_blink_redraws_only_the_blinking_box_and_equals_a_whole_frame(screen, layout):
    from display.redraw import pixel_box
    s = a_call_on(screen, layout)
    width = int(s.win.width)
    s.step(T0 + 0.1)  # the call, blink on
    flash, hero = s.wall.flash_panel, s.wall.hero_panel
    box = pixel_box(flash.x, flash.y, flash.width, flash.height)
    for now, red in ((T0 + 0.6, False), (T0 + 1.1, True), (T0 + 1.6, False)):
        partial, whole, boxes = s.step(now)
        assert (s.wall.texts_shown()["flash_bg"][0] > 0.7) == red
        # one frame, one box: the blinking box (and the blank overhang of a text
        # texture at its edge, a few pixels), nothing else
        assert len(boxes) == 1 and len(boxes[0]) == 1, (now, boxes)
        (x, y, w, h), = boxes[0]
        assert x <= box[0] and y <= box[1] and x + w >= box[0] + box[2] and y + h >= box[1] + box[3]
        assert w * h <= 1.05 * box[2] * box[3], (now, boxes, box)
        assert not differs(partial, whole, width), f"{now - T0}: {differs(partial, whole, width)}"
    # the calls under the new one are outside it: less than the panel, which used to blink whole
    assert box[2] * box[3] < 0.75 * hero.width * hero.height
    # the big call's panel paints around the blinking box, not under it (one layer
    # of pixels there, not two): its strips and the box tile the panel exactly
    strips = [(r.pos[0], r.pos[1], r.size[0], r.size[1]) for r in hero._rects if r.size[0] * r.size[1] > 0]
    hole = (flash.x, flash.y, flash.width, flash.height)
    assert strips and all(overlap(r, hole) < 0.01 for r in strips), (strips, hole)  # float32 edges
    assert sum(w * h for *_, w, h in strips) + flash.width * flash.height == pytest.approx(
        hero.width * hero.height)
    assert not hero.opaque and flash.opaque  # a partial frame never leaves the hole uncleared


@pytest.mark.parametrize("layout", ["landscape", "portrait"])
def test_panels_painted_by_clears_are_the_picture_painted_by_their_rectangles(screen, layout):
    s = a_call_on(screen, layout, progress=True)
    width = int(s.win.width)
    for now in (T0 + 0.1, T0 + 0.6, T0 + 82):  # blink on, blink off, the progress page
        _, _, _ = s.step(now)
        panels = [p for p in s.wall.walk(restrict=True) if type(p).__name__ == "Panel"]
        cleared = s.redraw.cleared
        s.redraw.damage.reset()
        s.win.canvas.ask_update()
        kit.pump(1)
        by_clears = s.pixels()
        assert s.redraw.cleared - cleared == len(panels) >= 4, (len(panels), s.redraw.cleared - cleared)  # every one
        s.redraw.paint = lambda panel: False  # the same frame with every panel's rectangles
        s.redraw.damage.reset()
        s.win.canvas.ask_update()
        kit.pump(1)
        by_rects = s.pixels()
        del s.redraw.paint
        assert not differs(by_clears, by_rects, width), f"{now - T0}: {differs(by_clears, by_rects, width)}"


def test_a_panel_outside_the_windows_own_frame_draws_its_rectangles(screen):
    """An exported image (a screenshot) is drawn into an image of its own:
    there a clear in window pixels would land in the wrong place, so the panels
    draw their rectangles."""
    from display.theme import HEADER_BG
    s = screen(zones=["Z1"], layout="landscape", languages=["zh-CN", "en"])
    header = next(p for p in s.wall.walk() if type(p).__name__ == "Panel" and tuple(p._color.rgba) == HEADER_BG)
    assert header.painter is s.redraw and header.clearable
    cleared = s.redraw.cleared
    image = s.wall.export_as_image()
    assert s.redraw.cleared == cleared
    tex = image.texture
    x, y = int(header.x) + 2, tex.height - 1 - (int(header.y) + 2)  # a corner: no text; rows run top down
    px = tex.pixels[(y * tex.width + x) * 4:(y * tex.width + x) * 4 + 3]
    assert all(abs(p - round(c * 255)) <= 1 for p, c in zip(px, HEADER_BG[:3])), (px, HEADER_BG)


def test_only_a_solid_panel_in_window_pixels_is_painted_by_clears():
    """A clear ignores opacity, the stencil and the transform: a panel under any
    of them draws its rectangles."""
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.relativelayout import RelativeLayout
    from kivy.uix.stencilview import StencilView
    from display.widgets import Panel
    kit.window()
    assert Panel((0.1, 0.2, 0.3, 1)).clearable
    assert not Panel((0.1, 0.2, 0.3, 0.5)).clearable  # seen through
    for holder in (StencilView(), RelativeLayout(), BoxLayout(opacity=0.5)):
        outer = BoxLayout()
        outer.add_widget(holder)
        panel = Panel((0.1, 0.2, 0.3, 1))
        holder.add_widget(panel)
        assert not panel.clearable, type(holder).__name__
    plain = BoxLayout()
    panel = Panel((0.1, 0.2, 0.3, 1))
    plain.add_widget(panel)
    assert panel.clearable
