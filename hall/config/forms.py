"""Config of forms (自助电子填表): the hall's field library and each matter's form.

A field is defined once in ``forms.fields`` and a matter's form lists field
ids, so "the same field" in two matters is the same id by construction: a
bundle's form (一张表单) is the union of its matters' forms merged by id
(``hall.forms.merged_form``), never a guess by label.

Fields whose value is basic personal data name a ``profile`` key; those are
what a citizen may keep in an encrypted profile and find prefilled on the next
matter and the next visit (``caller/profiles.py``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Ident, Names, Strict

FieldType = Literal["name", "id_number", "phone", "date", "choice", "text", "address", "number",
                    "company", "uscc"]

# Basic personal data a profile may hold, and the type a field needs to carry it.
PROFILE_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "id_number": ("id_number",),
    "phone": ("phone",),
    "address": ("address",),
    "household_address": ("address",),
    "employer": ("company",),
    "employer_uscc": ("uscc",),
    "email": ("text",),
    "gender": ("choice",),
    "ethnicity": ("text",),
}


class Choice(Strict):
    id: Ident = Field(description="Stored value of the choice.")
    label: Names = Field(description="The choice as shown on its button.")


class FormField(Strict):
    """One field of the hall's library, used by id in any number of forms."""

    id: Ident = Field(description="Field id; the same id in two matters' forms is the same field.")
    label: Names = Field(description="Label on the kiosk, the review page and the clerk's screen.")
    type: FieldType = Field(description="`name`, `id_number` (GB 11643, checksum), `phone` (11-digit mobile), "
                                        "`date` (YYYY-MM-DD), `choice`, `text`, `address`, `number`, "
                                        "`company`, `uscc` (统一社会信用代码, GB 32100 checksum).")
    profile: str | None = Field(None, description="Profile key when the value is basic personal data "
                                                  "(kept and prefilled only with the citizen's consent).")
    choices: list[Choice] = Field(default=[], description="The choices of a `choice` field.")
    max_length: int = Field(100, ge=1, le=500, description="Longest value accepted (characters).")
    minimum: float | None = Field(None, description="`number`: smallest value accepted.")
    maximum: float | None = Field(None, description="`number`: largest value accepted.")
    dates: Literal["any", "past", "future"] = Field(
        "any", description="`date`: `past` = today or earlier (a birth date), `future` = today or later.")

    @model_validator(mode="after")
    def _consistent(self) -> "FormField":
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field {self.id}: a choice field needs choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"field {self.id}: only a choice field has choices")
        if len({c.id for c in self.choices}) != len(self.choices):
            raise ValueError(f"field {self.id}: duplicate choice ids")
        if self.profile is not None:
            types = PROFILE_KEYS.get(self.profile)
            if types is None:
                raise ValueError(f"field {self.id}: unknown profile key {self.profile!r} "
                                 f"(known: {', '.join(PROFILE_KEYS)})")
            if self.type not in types:
                raise ValueError(f"field {self.id}: profile key {self.profile} needs type {' or '.join(types)}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"field {self.id}: minimum is above maximum")
        return self


class MatterForm(Strict):
    """The application form of one matter: field ids in the order they are asked."""

    matter: Ident = Field(description="Matter id (a bundle's form is merged from its matters').")
    fields: list[Ident] = Field(min_length=1, description="Field ids (of `forms.fields`) in order.")
    optional: list[Ident] = Field(default=[], description="Those of `fields` the citizen may leave empty.")

    @model_validator(mode="after")
    def _unique(self) -> "MatterForm":
        seen: set[str] = set()
        dup = [f for f in self.fields if f in seen or seen.add(f)]
        if dup:
            raise ValueError(f"form of {self.matter}: field ids twice: {sorted(set(dup))}")
        stray = set(self.optional) - seen
        if stray:
            raise ValueError(f"form of {self.matter}: optional fields not on the form: {sorted(stray)}")
        return self


class FormsConfig(Strict):
    fields: list[FormField] = Field(default=[], description="The hall's field library.")
    forms: list[MatterForm] = Field(default=[], description="One form per matter that has one.")

    @model_validator(mode="after")
    def _refs(self) -> "FormsConfig":
        ids = [f.id for f in self.fields]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate field ids in forms.fields")
        known = set(ids)
        for form in self.forms:
            bad = [f for f in form.fields if f not in known]
            if bad:
                raise ValueError(f"form of {form.matter}: unknown fields {bad}")
        matters = [f.matter for f in self.forms]
        if len(set(matters)) != len(matters):
            raise ValueError("two forms for the same matter")
        return self

    def matter_problems(self, matters: set[str]) -> list[tuple[str, str]]:
        """Root cross-check: every form belongs to a known matter (not a bundle)."""
        return [(f"forms.forms[{i}].matter", f"unknown matter {f.matter!r}")
                for i, f in enumerate(self.forms) if f.matter not in matters]

    def field(self, fid: str) -> FormField | None:
        return next((f for f in self.fields if f.id == fid), None)

    def form(self, matter: str) -> MatterForm | None:
        return next((f for f in self.forms if f.matter == matter), None)
