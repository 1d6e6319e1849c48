"""Which idempotency keys the store may hold: a filter in memory, so that a new
request (nearly every one) is known new without a query.

Every request the engine answers is looked up by its key (``kind/id/op/rid``)
before it is applied, so a retry gets the first answer.  The reply cache in
memory holds the latest few thousand; the rest are in the store's ``replies``
table, and asking SQLite costs a read transaction on the WAL per request
(≈ 40 µs of the loop's CPU, on the path of every request).  This filter
answers "certainly not stored" for almost every new key and "maybe" for every
key that is, so only a "maybe" asks SQLite.

A Bloom filter (two probes from one 64-bit hash) per day of the records, the
day the store files each reply under: a key is added (with its day) before
its reply is written, and a day's bits go only when the store prunes that
day's records, so no stored key is ever answered "certainly not".  With 2²¹
bits a day, a day of 100,000 requests answers "maybe" for under 1 % of new
keys (each then asks SQLite, as before); 256 KB a day kept, two days as a
rule (the store keeps yesterday's records and today's).
"""

from __future__ import annotations

BITS = 1 << 21
MAX_DAYS = 4  # past this (records not pruned), the two oldest days share their bits


class ReplyKeys:
    def __init__(self, bits: int = BITS):
        if bits <= 0 or bits & (bits - 1):
            raise ValueError("bits: a power of two")
        self._bits = bits
        self._mask = bits - 1
        self._days: dict[str, bytearray] = {}
        # what maybe() reads: replaced whole, never changed in place, because the
        # committer's thread adds days and forgets them while the loop reads
        self._gens: tuple[bytearray, ...] = ()

    def _probes(self, key: str) -> tuple[int, int]:
        h = hash(key) & 0xFFFFFFFFFFFFFFFF  # a str caches its hash
        return h & self._mask, (h >> 32) & self._mask

    def add(self, key: str, day: str) -> None:
        bits = self._days.get(day)
        if bits is None:
            bits = self._days[day] = bytearray(self._bits // 8)
            if len(self._days) > MAX_DAYS:
                holder = self._merge_oldest()
                if day not in self._days:  # ``day`` was the oldest: merged into the next
                    bits = self._days[holder]
            self._gens = tuple(self._days.values())
        a, b = self._probes(key)
        bits[a >> 3] |= 1 << (a & 7)
        bits[b >> 3] |= 1 << (b & 7)

    def maybe(self, key: str) -> bool:
        """False: no record with this key was added (since its day was pruned)."""
        a, b = self._probes(key)
        ia, ma, ib, mb = a >> 3, 1 << (a & 7), b >> 3, 1 << (b & 7)
        for bits in self._gens:
            if bits[ia] & ma and bits[ib] & mb:
                return True
        return False

    def forget_before(self, day: str) -> None:
        """The store deleted the records of days before ``day``."""
        for d in [d for d in self._days if d < day]:
            del self._days[d]
        self._gens = tuple(self._days.values())

    def _merge_oldest(self) -> str:
        """Two days' bits in one, kept until the later of the two is pruned (a
        superset answers "maybe" a little more often, never "no" wrongly);
        returns the day that holds them."""
        old, newer = sorted(self._days)[:2]
        merged = self._days.pop(old)
        bits = self._days[newer]
        bits[:] = (int.from_bytes(bits, "little") | int.from_bytes(merged, "little")).to_bytes(len(bits), "little")
        return newer
