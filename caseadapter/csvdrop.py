"""The drop folder's file format: rows in, requests out, results back. Pure.

One row per event of the outside case system, in the order they happened::

    action,ref,matter,stage,handler,opinion,days,accepted_on,name,id_number,phone,lang
    open,SP-0001,M1,,李科员,材料齐全,,2026-09-30,张三丰,110101199003070012,13812345678,zh-CN
    step,SP-0001,,review,王审查,,,,,,,
    extend,SP-0001,,,王审查,专家评审,5,,,,,

``action`` is ``open`` (columns ref, matter, handler; optional accepted_on,
opinion and the applicant: name, id_number, phone, lang), ``step`` (ref,
stage, handler; opinion) or ``extend`` (ref, days, handler; the reason in
``opinion``). Stages are the engine's (accepted, review, decided, issuing,
ready, collected, correction, denied, withdrawn) or their Chinese names
(受理, 审查, 决定, 制证, 待领取, 已领取, 补正中, 不予许可, 撤回). The file is UTF-8
(a BOM is fine: spreadsheet exports have one).

Each row's request id is made from the file's content and the row number, so
a file sent again (the adapter restarted halfway) gets the engine's first
answers instead of doing anything twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from caller.cases import STAGE_NAMES

COLUMNS = ("action", "ref", "matter", "stage", "handler", "opinion", "days", "accepted_on",
           "name", "id_number", "phone", "lang")
OPS = {"open": "case_open", "step": "case_step", "extend": "case_extend"}
_STAGES = {**{k: k for k in STAGE_NAMES}, **{v: k for k, v in STAGE_NAMES.items()}}
RESULT_COLUMNS = ("row", "action", "ref", "status", "case", "stage", "deadline", "code", "message")


@dataclass(frozen=True)
class Row:
    """One row made into a request: ``op`` and ``body`` (without ``id``)."""

    line: int  # 1-based line in the file, the header being line 1
    action: str
    ref: str
    op: str
    body: dict[str, Any]
    req_id: str


@dataclass(frozen=True)
class BadRow:
    line: int
    action: str
    ref: str
    message: str


def _need(rec: dict[str, str], *names: str) -> str | None:
    missing = [n for n in names if not rec.get(n)]
    return f"missing {', '.join(missing)}" if missing else None


def parse(data: bytes) -> list[Row | BadRow]:
    """Every row of a drop file, as a request or as the reason it is not one."""
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - set(COLUMNS)
    if unknown or "action" not in (reader.fieldnames or ()):
        why = f"unknown columns {sorted(unknown)}" if unknown else "no action column"
        return [BadRow(1, "", "", f"{why}; the header must use {', '.join(COLUMNS)}")]
    digest = hashlib.sha256(data).hexdigest()[:20]
    return [record(n, raw, f"csv-{digest}-{n}") for n, raw in enumerate(reader, start=2)]


def record(n: int, raw: dict[str, Any], req_id: str) -> Row | BadRow:
    """One event of the outside system — a CSV row, or an HTTP feed's JSON object with
    the same keys (caseadapter/httpfeed.py) — as a request, or the reason it is not one."""
    rec = {k: str(v if v is not None else "").strip() for k, v in raw.items() if k}
    action, ref = rec.get("action", "").lower(), rec.get("ref", "")
    op = OPS.get(action)
    if op is None:
        return BadRow(n, action, ref, f"action must be one of {', '.join(OPS)}")
    made = _body(action, rec)
    if isinstance(made, str):
        return BadRow(n, action, ref, made)
    return Row(n, action, ref, op, made, req_id)


def _body(action: str, rec: dict[str, str]) -> dict[str, Any] | str:
    if action == "open":
        if (why := _need(rec, "ref", "matter", "handler")):
            return why
        body: dict[str, Any] = {"ref": rec["ref"], "matter": rec["matter"], "handler": rec["handler"]}
        for k in ("accepted_on", "opinion", "name", "id_number", "phone", "lang"):
            if rec.get(k):
                body[k] = rec[k]
        return body
    if action == "step":
        if (why := _need(rec, "ref", "stage", "handler")):
            return why
        stage = _STAGES.get(rec["stage"])
        if stage is None:
            return f"no stage {rec['stage']!r}"
        return {"ref": rec["ref"], "stage": stage, "handler": rec["handler"], "opinion": rec.get("opinion", "")}
    if (why := _need(rec, "ref", "days", "handler", "opinion")):
        return why
    if not rec["days"].isdigit():
        return f"days {rec['days']!r} is not a number of working days"
    return {"ref": rec["ref"], "days": int(rec["days"]), "reason": rec["opinion"], "handler": rec["handler"]}


def result_line(row: Row | BadRow, data: dict[str, Any] | None, code: str = "", message: str = "") -> list[str]:
    """One line of the result file: what happened to a row (never its personal data)."""
    if data is not None:
        return [str(row.line), row.action, row.ref, "ok", data.get("case", ""), data.get("stage", ""),
                data.get("deadline", ""), "", ""]
    return [str(row.line), row.action, row.ref, "refused", "", "", "", code, message]


def render_results(lines: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RESULT_COLUMNS)
    w.writerows(lines)
    return buf.getvalue().encode("utf-8")
