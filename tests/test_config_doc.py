"""Every config field is described, and docs/config.md shows the schema as it is."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from hall.config import HallConfig
from hall.config_doc import current_section, render


def _fields(model, path="", seen=None):
    seen = seen if seen is not None else set()
    if model.__name__ in seen:
        return
    seen.add(model.__name__)
    for name, f in model.model_fields.items():
        yield f"{path}.{name}".lstrip("."), f

        def subs(tp):
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                yield tp
            for a in typing.get_args(tp):
                yield from subs(a)
        for sub in subs(f.annotation):
            yield from _fields(sub, f"{path}.{name}", seen)


def test_every_config_field_has_a_description():
    missing = [p for p, f in _fields(HallConfig) if not (f.description or "").strip()]
    assert missing == []


def test_every_config_model_forbids_unknown_fields():
    models = {HallConfig}
    for _, f in _fields(HallConfig):
        stack = [f.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                models.add(tp)
            stack.extend(typing.get_args(tp))
    assert {m.__name__ for m in models if m.model_config.get("extra") != "forbid"} == set()


def test_config_doc_matches_schema():
    assert current_section() == render(), "run: .venv/bin/python -m hall.config_doc"
