"""Every error code the code can send is in docs/protocol.md, and every code
listed there is one the code sends (hall/errors.py is the one list).

The code is read as source (ast), so the check covers paths no other test
reaches: a refusal names its code as ``ErrorCode.X`` (``E.X``), never as a
string literal, and each member of :class:`ErrorCode` is named somewhere
outside its own module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from caller.effects import Refused
from hall.errors import CLIENT_SIDE, ERROR_DOCS, ErrorCode
from hall.protocol_doc import current_section

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("caller", "hall", "web", "kiosk", "sms", "display", "firmware_bridge", "deploy", "sim", "bench")
ENUM_NAMES = {"E", "ErrorCode"}

# callables that take an error code, and where: positional index or keyword
CODE_ARG: dict[str, tuple[int | None, str]] = {
    "Refused": (0, "code"), "CaseError": (0, "code"), "Unreadable": (0, "code"),
    "RequestError": (0, "code"), "ErrorBody": (None, "code"),
    "refuse": (1, "code"), "_shed": (2, "code"),
}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _code_arg(call: ast.Call) -> ast.expr | None:
    pos, kw = CODE_ARG[_name(call.func)]
    for k in call.keywords:
        if k.arg == kw:
            return k.value
    if pos is not None and len(call.args) > pos:
        return call.args[pos]
    return None


def literal_codes(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every error code written as a string literal."""
    values = {c.value for c in ErrorCode}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in CODE_ARG:
            arg = _code_arg(node)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, arg.value))
        # (code, message) pairs: Outcome.error and the service's dispatch results
        # (a message has words; a tuple of codes compared against is no pair)
        elif isinstance(node, ast.Tuple) and len(node.elts) == 2 \
                and isinstance(node.elts[0], ast.Constant) and node.elts[0].value in values \
                and (isinstance(node.elts[1], ast.JoinedStr) or (
                    isinstance(node.elts[1], ast.Constant) and " " in str(node.elts[1].value))):
            found.append((node.lineno, node.elts[0].value))
    return found


def named_codes(tree: ast.AST) -> set[str]:
    """Members of ErrorCode named as ``E.X`` / ``ErrorCode.X``."""
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id in ENUM_NAMES and node.attr.isupper()}


def test_no_code_is_sent_as_a_bare_string():
    bad = []
    for path in _sources():
        for line, code in literal_codes(ast.parse(path.read_text(encoding="utf-8"))):
            bad.append(f"{path.relative_to(ROOT)}:{line}: {code!r}")
    assert not bad, "error codes must be hall.errors.ErrorCode members (documented): " + ", ".join(bad)


def test_every_documented_code_is_sent_by_the_code():
    used: set[str] = set()
    for path in _sources():
        if path == ROOT / "hall" / "errors.py":
            continue
        used |= named_codes(ast.parse(path.read_text(encoding="utf-8")))
    members = {c.name for c in ErrorCode}
    assert used - members == set(), "named but not members (a typo raises AttributeError at run time)"
    assert members - used == set(), "documented codes that no code sends: remove them from hall/errors.py"


def test_every_code_is_in_the_protocol_doc():
    assert set(ERROR_DOCS) == set(ErrorCode)
    doc = current_section()
    missing = [c.value for c in ErrorCode if f"| `{c.value}` |" not in doc]
    assert not missing, "run: .venv/bin/python -m hall.protocol_doc"
    assert CLIENT_SIDE <= set(ErrorCode)


def test_a_refusal_with_an_undocumented_code_is_a_bug():
    with pytest.raises(TypeError, match="ErrorCode"):
        Refused("made_up", "x")  # type: ignore[arg-type]
    assert Refused(ErrorCode.PAUSED, "x").code == "paused"


def test_the_scan_finds_literal_codes():
    """The scan itself: each form a code can take in the source is seen."""
    src = '''
raise Refused("paused", "m")
raise CaseError(code="bad_state", message="m")
ErrorBody(code="internal", message="x")
refuse(rid, "bad_json", str(e))
self._shed(parsed, payload, "busy", "m")
return None, ("unknown_window", f"no window {w}")
if e.code in ("no_current_ticket", "not_logged_in"): pass
raise Refused(E.PAUSED, "fine")
'''
    assert [c for _l, c in literal_codes(ast.parse(src))] == \
        ["paused", "bad_state", "internal", "bad_json", "busy", "unknown_window"]
    assert named_codes(ast.parse(src)) == {"PAUSED"}
