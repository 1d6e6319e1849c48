"""一次咨询引导: situation questions decide the checklist of materials (pure).

A bundle (一件事) without a guide of its own merges the guides of its matters:
questions with the same id are asked once, and a material with the same id is
listed once (一张清单), so a citizen never brings two copies of an ID card
because two matters each asked for one.
"""

from __future__ import annotations

from dataclasses import dataclass

from hall.config import ConfigError, HallConfig
from hall.config.kiosk import Guide, Material, Question


@dataclass(frozen=True)
class Resolved:
    """The questions and materials of one matter or bundle."""

    target: str
    intro: object | None  # Names
    questions: tuple[Question, ...]
    materials: tuple[Material, ...]


def check_guides(cfg: HallConfig) -> None:
    """Refuse guides and kiosk settings that name things the hall does not have."""
    problems: list[tuple[str, str]] = []
    known = {m.id for m in cfg.matters} | {b.id for b in cfg.bundles}
    for i, g in enumerate(cfg.kiosks.guides):
        if g.target not in known:
            problems.append((f"kiosks.guides[{i}].target", f"unknown matter or bundle {g.target!r}"))
    classes = {c.id for c in cfg.priority.classes}
    for i, c in enumerate(cfg.kiosks.priority_offer):
        if c not in classes:
            problems.append((f"kiosks.priority_offer[{i}]", f"unknown priority class {c!r}"))
    for lang in [cfg.kiosks.default_lang]:
        if lang not in cfg.hall.languages:
            problems.append(("kiosks.default_lang", f"{lang} is not in hall.languages"))
    if problems:
        raise ConfigError(problems)


def resolve(cfg: HallConfig, target: str) -> Resolved:
    own = cfg.kiosks.guide(target)
    if own is not None:
        return Resolved(target, own.intro, tuple(own.questions), tuple(own.materials))
    bundle = cfg.bundle(target)
    if bundle is None:
        return Resolved(target, None, (), ())
    questions: dict[str, Question] = {}
    materials: dict[str, Material] = {}
    for mid in bundle.matters:
        g: Guide | None = cfg.kiosks.guide(mid)
        if g is None:
            continue
        for q in g.questions:
            questions.setdefault(q.id, q)
        for m in g.materials:
            materials.setdefault(m.id, m)
    return Resolved(target, None, tuple(questions.values()), tuple(materials.values()))


def default_answers(res: Resolved) -> dict[str, str]:
    return {q.id: q.options[0].id for q in res.questions}


def checklist(res: Resolved, answers: dict[str, str]) -> list[Material]:
    """Materials needed for these answers; an unanswered question matches nothing."""
    out = []
    for m in res.materials:
        if all(answers.get(q) in allowed for q, allowed in m.when.items()):
            out.append(m)
    return out
