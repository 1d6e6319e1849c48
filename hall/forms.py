"""Forms as every process uses them (pure): a matter's or bundle's form, checking a
filled form, and rendering one for the clerk.

* :func:`merged_form` — a bundle's 一张表单: its matters' forms in the bundle's
  order, merged by field id (each field once, at its first place; required if
  any matter requires it), with the number of fields merging saved.
* :func:`check_form` — every problem of a filled form as ``(field id, reason)``:
  the engine refuses an ``issue`` whose form has any, naming the field.
* :func:`render_filled` — labels and values in field order, for the window
  terminal's page and its print view (the one place values appear unmasked).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from .config.forms import FormField
from .idcodes import check_id_number, check_mobile, check_uscc, parse_date

NAME_RE = re.compile(r"^(?:[\u3400-\u9fff][\u3400-\u9fff·]{0,18}[\u3400-\u9fff]|[A-Za-z][A-Za-z .'\-]{0,48}[A-Za-z])$")


@dataclass(frozen=True)
class FormSlot:
    field: FormField
    required: bool


@dataclass(frozen=True)
class Form:
    """The form of one matter or bundle; ``saved`` = fields merging left out."""

    target: str
    slots: tuple[FormSlot, ...]
    saved: int = 0

    @property
    def ids(self) -> list[str]:
        return [s.field.id for s in self.slots]

    def slot(self, fid: str) -> FormSlot | None:
        return next((s for s in self.slots if s.field.id == fid), None)


def merged_form(cfg: Any, target: str) -> Form | None:
    """The form of a matter, or the merged form of a bundle; None if it has none."""
    fc = cfg.forms
    bundle = cfg.bundle(target)
    matters = list(bundle.matters) if bundle is not None else [target]
    order: list[str] = []
    required: dict[str, bool] = {}
    listed = 0
    for mid in matters:
        form = fc.form(mid)
        if form is None:
            continue
        optional = set(form.optional)
        for fid in form.fields:
            listed += 1
            if fid not in required:
                order.append(fid)
                required[fid] = False
            required[fid] = required[fid] or fid not in optional
    if not order:
        return None
    slots = tuple(FormSlot(fc.field(fid), required[fid]) for fid in order)
    return Form(target, slots, saved=listed - len(order))


def check_value(f: FormField, value: str, today: dt.date | None = None) -> str | None:
    """One value against its field's type and limits; None when it is good."""
    v = value.strip()
    if len(v) > f.max_length:
        return f"longer than {f.max_length} characters"
    t = f.type
    if t == "id_number":
        return check_id_number(v, today)
    if t == "phone":
        return check_mobile(v)
    if t == "uscc":
        return check_uscc(v)
    if t == "name":
        return None if NAME_RE.match(v) else "a name is 2–20 Chinese characters or a Latin name"
    if t == "date":
        d = parse_date(v)
        if d is None:
            return "a date is written YYYY-MM-DD and must exist"
        if today is not None and f.dates == "past" and d > today:
            return "this date cannot be in the future"
        if today is not None and f.dates == "future" and d < today:
            return "this date cannot be in the past"
        return None
    if t == "choice":
        return None if v in {c.id for c in f.choices} else f"not one of {[c.id for c in f.choices]}"
    if t == "number":
        try:
            n = float(v)
        except ValueError:
            return "not a number"
        if n != n or n in (float("inf"), float("-inf")):
            return "not a number"
        if f.minimum is not None and n < f.minimum:
            return f"below {f.minimum:g}"
        if f.maximum is not None and n > f.maximum:
            return f"above {f.maximum:g}"
        return None
    if t in ("address", "company") and len(v) < 4:
        return "too short to be complete"
    return None


def check_form(form: Form | None, values: Mapping[str, str] | None,
               today: dt.date | None = None) -> list[tuple[str, str]]:
    """Every problem of a filled form, in field order; [] when it can be accepted."""
    values = values or {}
    if form is None:
        return [(k, "this matter has no form") for k in sorted(values)]
    problems = [(k, "not a field of this form") for k in values if form.slot(k) is None]
    for s in form.slots:
        v = values.get(s.field.id, "")
        if not v.strip():
            if s.required:
                problems.append((s.field.id, "required"))
            continue
        why = check_value(s.field, v, today)
        if why:
            problems.append((s.field.id, why))
    return problems


def filled_count(form: Form | None, values: Mapping[str, str] | None) -> tuple[int, int]:
    """(fields with a value, fields on the form): what the ticket shows."""
    if form is None:
        return 0, 0
    values = values or {}
    return sum(1 for s in form.slots if values.get(s.field.id, "").strip()), len(form.slots)


def display_value(f: FormField, value: str, lang: str) -> str:
    """A stored value as a person reads it (a choice by its label)."""
    if f.type == "choice":
        c = next((c for c in f.choices if c.id == value), None)
        return c.label.get(lang) if c else value
    return value


def render_filled(cfg: Any, target: str, values: Mapping[str, str], lang: str = "zh-CN"
                  ) -> list[tuple[str, str, str]]:
    """``(field id, label, value)`` in the form's order, every field of the form
    (an empty value for one left blank); values unmasked: for the clerk only."""
    form = merged_form(cfg, target)
    if form is None:
        return [(k, k, v) for k, v in values.items()]
    return [(s.field.id, s.field.label.get(lang), display_value(s.field, values.get(s.field.id, ""), lang))
            for s in form.slots]
