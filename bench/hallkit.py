"""Hall configs the benchmarks share (not product code)."""

from __future__ import annotations

# A bench kiosk fills the queue as fast as it can: the door's per-kiosk limits are
# not what these benchmarks measure (bench/flood.py measures them).
OPEN_DOOR = {"kiosk": {"rate": 100000, "burst": 100000}, "daily_tickets_per_kiosk": None}


def one_matter_hall(hall_id: str, name_zh: str, matter: tuple[str, str], department: tuple[str, str],
                    windows: list[dict]) -> dict:
    """One zone, one group, one matter ``M1`` (names ``(zh, en)``), open all day."""
    return {
        "version": 2,
        "hall": {"id": hall_id, "name": {"zh": name_zh, "en": "Bench hall"}},
        "queue": {"issue_only_in_service_hours": False},
        "door": OPEN_DOOR,
        "groups": [{"prefix": "A", "name": {"zh": "综合", "en": "General"}, "digits": 4}],
        "zones": [{"id": "Z1", "name": {"zh": "综合区", "en": "Zone"}}],
        "matters": [{"id": "M1", "name": {"zh": matter[0], "en": matter[1]}, "group": "A",
                     "department": {"zh": department[0], "en": department[1]}, "zone": "Z1"}],
        "windows": windows,
        # the bench's kiosk: the engine serves only kiosks the config lists
        "kiosks": {"devices": [{"id": "K1", "printer": {"type": "none"}}]},
    }
