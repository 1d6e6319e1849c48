"""The wall display's view model (display/callboard.py): no Kivy, no broker."""

from __future__ import annotations

from hall.messages import CalledEvent, CallEntry, CaseProgress, ProgressBoard, ZoneBoard, ZoneWaiting

from display.callboard import SEEN_EVENTS, BoardSettings, CallBoard

T0 = 1_790_000_000.0


def entry(number, window="W05", wn="5", at=T0, recall=0):
    return CallEntry(ticket=f"20261121-{number}", number=number, window=window, window_number=wn,
                     matter="M001", at=at, recall=recall)


def board(zone="Z1", current=(), recent=(), at=T0):
    return ZoneBoard(zone=zone, current=list(current), recent=list(recent), at=at)


def waits(zone, groups, at=T0):
    return ZoneWaiting(zone=zone, groups=groups, total=sum(groups.values()), windows={}, at=at)


def called(number, at, event=None, window="W05", wn="5", zone="Z1", recall=0):
    return CalledEvent(event=event or f"ev-{number}-{recall}", ticket=f"20261121-{number}", number=number,
                       window=window, window_number=wn, zone=zone, matter="M001", recall=recall,
                       lang="zh-CN", at=at)


def make(**kw):
    cb = CallBoard(BoardSettings(**kw), order=("A", "B", "Y"))
    cb.start(T0)
    cb.on_link(True, T0)
    cb.on_engine("online")
    return cb


def test_live_call_is_hero_and_flashes_then_stops():
    cb = make(flash_seconds=8)
    assert cb.on_called(called("A023", T0), T0 + 0.05)
    v = cb.view(T0 + 1)
    assert v.hero.number == "A023" and v.hero.window_number == "5" and v.flashing
    assert not cb.view(T0 + 8.1).flashing
    assert cb.view(T0 + 8.1).hero.number == "A023"


def test_duplicate_event_id_does_not_flash_again():
    cb = make()
    ev = called("A023", T0)
    assert cb.on_called(ev, T0)
    assert cb.view(T0 + 1).flashing  # drawn: its flash runs
    assert not cb.on_called(ev, T0 + 9)
    assert not cb.view(T0 + 9).flashing


def test_recall_is_a_new_event_and_flashes_again():
    cb = make()
    cb.on_called(called("A023", T0), T0)
    assert cb.on_called(called("A023", T0 + 30, recall=1), T0 + 30)
    v = cb.view(T0 + 31)
    assert v.flashing and v.hero.recall == 1
    assert [c.number for c in v.recent] == []  # one ticket, listed once


def test_retained_board_at_start_never_flashes():
    cb = make()
    cb.on_board(board(current=[entry("A023", at=T0 - 2)], recent=[entry("A022", "W03", "3", T0 - 60)]), T0)
    v = cb.view(T0)
    assert v.hero.number == "A023" and not v.flashing
    assert [c.number for c in v.recent] == ["A022"]


def test_stale_event_is_listed_but_never_flashes():
    cb = make(stale_seconds=20)
    assert not cb.on_called(called("A023", T0 - 120), T0)
    v = cb.view(T0)
    assert v.hero.number == "A023" and not v.flashing


def test_older_event_arriving_late_does_not_take_over():
    cb = make()
    cb.on_called(called("A024", T0 + 5, window="W02", wn="2"), T0 + 5)
    assert not cb.on_called(called("A023", T0 + 1), T0 + 5.1)
    v = cb.view(T0 + 6)
    assert v.hero.number == "A024" and v.flashing
    assert [c.number for c in v.recent] == ["A023"]


def test_board_replaces_live_calls_and_rebuilds_after_reconnect():
    cb = make()
    cb.on_called(called("A023", T0), T0)
    # the engine's board after the call lists it; nothing is duplicated
    cb.on_board(board(current=[entry("A023", at=T0)], at=T0 + 0.01), T0 + 0.02)
    assert [c.number for c in cb._calls()] == ["A023"]
    # broker away; while away, the day was reset (new engine DB): the retained board is empty
    cb.on_link(False, T0 + 10)
    assert cb.view(T0 + 10).offline == "broker"
    cb.on_link(True, T0 + 20)
    cb.on_board(board(current=[], recent=[], at=T0 + 15), T0 + 20)
    v = cb.view(T0 + 20)
    assert v.hero is None and v.recent == () and v.offline is None


def test_call_missed_while_offline_is_shown_from_board_without_flash():
    cb = make()
    cb.on_link(False, T0)
    cb.on_link(True, T0 + 60)
    cb.on_board(board(current=[entry("A030", at=T0 + 30)], at=T0 + 30), T0 + 60)
    v = cb.view(T0 + 60)
    assert v.hero.number == "A030" and not v.flashing


def test_older_board_in_flight_is_ignored():
    cb = make()
    cb.on_board(board(current=[entry("A023", at=T0)], at=T0 + 1), T0 + 1)
    cb.on_board(board(current=[], at=T0), T0 + 1)
    assert cb.view(T0 + 1).hero.number == "A023"


def test_zone_filter_and_waiting_by_group_in_config_order():
    cb = make(zones=frozenset({"Z1", "Z8"}))
    cb.on_waiting(waits("Z1", {"Y": 2, "A": 5}))
    cb.on_waiting(waits("Z8", {"A": 1}))
    cb.on_waiting(waits("Z3", {"C": 9}))
    cb.on_board(board("Z3", current=[entry("C001", "W13", "13")]), T0)
    assert not cb.on_called(called("C001", T0, zone="Z3"), T0)
    v = cb.view(T0)
    assert v.hero is None
    assert v.waiting == (("A", 6), ("Y", 2)) and v.waiting_total == 8


def test_waiting_by_zone():
    cb = make(waiting_by="zone")
    cb.on_waiting(waits("Z1", {"A": 5}))
    cb.on_waiting(waits("Z3", {"C": 2}))
    cb.on_waiting(waits("Z1", {"A": 9}, at=T0 - 1))  # older counts overtaken in flight
    assert cb.view(T0).waiting == (("Z1", 5), ("Z3", 2))
    cb.on_waiting(waits("Z1", {"A": 4}, at=T0 + 1))
    assert cb.view(T0).waiting == (("Z1", 4), ("Z3", 2))


def test_engine_offline_and_unknown_engine_after_grace():
    cb = CallBoard(BoardSettings())
    cb.on_link(True, T0)
    assert cb.view(T0 + 1).offline is None       # retained availability not yet in
    assert cb.view(T0 + 6).offline == "engine"   # never came
    cb.on_engine("online")
    assert cb.view(T0 + 6).offline is None
    cb.on_engine("offline")
    assert cb.view(T0 + 7).offline == "engine"


def test_recent_is_bounded_and_distinct_tickets():
    cb = make(recent=3)
    for i in range(10):
        cb.on_called(called(f"A{i:03d}", T0 + i), T0 + i)
    v = cb.view(T0 + 100)  # every queued flash is over
    assert v.hero.number == "A009" and not v.flashing
    assert [c.number for c in v.recent] == ["A008", "A007", "A006"]


def test_memory_stays_bounded_over_a_day():
    cb = make()
    for i in range(5000):
        cb.on_called(called(f"A{i:04d}", T0 + i), T0 + i)
        if i % 7 == 0:
            cb.on_board(board(current=[entry(f"A{i:04d}", at=T0 + i)], at=T0 + i), T0 + i)
    assert len(cb._seen) <= SEEN_EVENTS and len(cb._live) <= 64


def progress(n):
    return ProgressBoard(cases=[CaseProgress(case=f"2026112100{i:02d}", name="张*明", matter="M001",
                                             status="processing", updated_at=T0) for i in range(n)], at=T0)


def test_progress_page_rotates_in_when_idle_and_out_on_a_call():
    cb = make(idle_seconds=60, page_seconds=15, progress_rows=8)
    cb.on_progress(progress(12))  # two pages
    assert cb.view(T0 + 30).page == "calls"
    v = cb.view(T0 + 61)
    assert v.page == "progress" and v.progress_index == 0 and len(v.progress) == 8 and v.progress_pages == 2
    v = cb.view(T0 + 76)
    assert v.page == "progress" and v.progress_index == 1 and len(v.progress) == 4
    assert cb.view(T0 + 91).page == "calls"
    assert cb.view(T0 + 106).page == "progress"
    cb.on_called(called("A001", T0 + 107), T0 + 107)
    assert cb.view(T0 + 107).page == "calls"
    assert cb.view(T0 + 160).page == "calls"  # idle timer restarted at the call


def test_no_progress_page_when_disabled_or_empty():
    cb = make(progress_page=False)
    cb.on_progress(progress(3))
    assert cb.view(T0 + 600).page == "calls"
    cb = make()
    cb.on_progress(ProgressBoard(cases=[], at=T0))
    assert cb.view(T0 + 600).page == "calls"


def flash_timeline(cb, start, end, step=0.05):
    """(ticket number, first second, last second) of each flash between start and end."""
    runs = []
    t = start
    while t < end:
        v = cb.view(t)
        if v.flashing:
            name = v.hero.number + ("(recall)" if v.hero.recall else "")
            if runs and runs[-1][0] == name and runs[-1][2] >= t - step * 1.5:
                runs[-1][2] = t
            else:
                runs.append([name, t, t])
        t = round(t + step, 6)
    return [(n, a - start, b - start) for n, a, b in runs]


def burst(**kw):
    cb = make(flash_seconds=8, flash_min_seconds=2, current=3, **kw)
    for i, (number, wn) in enumerate([("A023", "5"), ("A024", "7"), ("B002", "9")]):
        t = T0 + i * 0.4
        assert cb.on_called(called(number, t, wn=wn), t)
    return cb


def test_three_calls_within_one_second_flash_three_times_in_order():
    runs = flash_timeline(burst(), T0, T0 + 14)
    assert [r[0] for r in runs] == ["A023", "A024", "B002"]
    (_, a0, a1), (_, b0, b1), (_, c0, c1) = runs
    assert a1 - a0 >= 1.9 and b1 - b0 >= 1.9          # each at least flash_min_seconds (sampled every 50 ms)
    assert 1.95 <= b0 <= 2.05 and 3.95 <= c0 <= 4.05  # back to back, none skipped
    assert 7.9 <= c1 - c0 <= 8.0                       # the last one gets the whole flash_seconds
    cb = burst()
    for t in (T0 + 0.9, T0 + 2.1):  # frames drawn: A023's flash, then A024's
        cb.view(t)
    v = cb.view(T0 + 2.5)  # A024 flashing: the newer B002 and the older A023 stay listed under it
    assert v.hero.number == "A024" and [c.number for c in v.current] == ["B002", "A023"]


def test_a_recall_queues_its_own_flash_and_is_marked():
    cb = make(flash_seconds=6, flash_min_seconds=2, current=2)
    cb.on_called(called("A023", T0), T0)
    cb.on_called(called("A023", T0 + 0.5, recall=1), T0 + 0.5)
    runs = flash_timeline(cb, T0, T0 + 10)
    assert [r[0] for r in runs] == ["A023", "A023(recall)"]  # one ticket, two flashes, the second marked
    assert 1.95 <= runs[1][1] <= 2.05


def test_a_flash_alone_lasts_flash_seconds_and_a_late_arrival_starts_its_own():
    cb = make(flash_seconds=5, flash_min_seconds=2)
    cb.on_called(called("A023", T0), T0)
    assert cb.view(T0 + 4.9).flashing and not cb.view(T0 + 5.1).flashing
    cb.on_called(called("A024", T0 + 20), T0 + 20)
    assert cb.view(T0 + 20.1).hero.number == "A024" and cb.view(T0 + 24.9).flashing
    assert cb.next_change(T0 + 21) == T0 + 25


def test_window_grid_cells_follow_window_states_in_config_order():
    from hall.messages import TicketBrief, WindowState
    cb = make(windows=(("W01", "1"), ("W02", "2"), ("W03", "3")))
    cb.on_board(board(current=[entry("A023", "W03", "3", T0 - 2)]), T0)

    def state(w, n, status, ticket=None):
        brief = TicketBrief(ticket=f"20261121-{ticket}", number=ticket, matter="M001", bundle=None, state="called",
                            called_at=T0, recalls=0, priority="normal") if ticket else None
        return WindowState(window=w, number=n, zone="Z1", status=status, staff="S1", ticket=brief, at=T0)
    cb.on_window(state("W01", "1", "open", "A021"))
    cb.on_window(state("W02", "2", "paused"))
    cb.on_window(state("W99", "99", "open", "A001"))  # not on this screen
    cells = cb.view(T0).windows
    assert [(c.number, c.ticket, c.status) for c in cells] == [
        ("1", "A021", "open"), ("2", None, "paused"), ("3", "A023", "unknown")]


def test_a_display_too_busy_to_draw_still_flashes_every_call_of_a_burst():
    """Frames every 3 s (a loaded Pi), flashes of 2 s: each call is drawn flashing, in order."""
    numbers = ["A023", "A024", "B002", "B003"]

    def four():
        cb = make(flash_seconds=8, flash_min_seconds=2, current=3)
        for i, number in enumerate(numbers):
            assert cb.on_called(called(number, T0 + i * 0.2), T0 + i * 0.2)
        return cb

    cb = four()
    drawn = []
    for k in range(8):
        v = cb.view(T0 + 0.5 + 3 * k)
        if v.flashing and (not drawn or drawn[-1] != v.hero.number):
            drawn.append(v.hero.number)
    assert drawn == numbers
    # a flash held unshown long past its time is dropped, never flashed late
    v = four().view(T0 + 60)
    assert not v.flashing and v.hero.number == "B003"
