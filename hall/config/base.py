"""Shared pieces of the config schema: the strict base model and bilingual names."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Ident = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$"),
    Field(description="An id: letters, digits, `_ . -`; never `+ # /` (it becomes a topic level)."),
]


class Strict(BaseModel):
    """Every config model: unknown fields are an error, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Names(Strict):
    """A name shown to people, in Chinese and English (zh-TW made from zh with OpenCC unless given)."""

    zh: str = Field(min_length=1, description="Simplified Chinese.")
    en: str = Field(min_length=1, description="English.")
    tw: str | None = Field(None, description="Traditional Chinese; default: `zh` converted by OpenCC (s2tw).")

    def get(self, lang: str) -> str:
        if lang.startswith("en"):
            return self.en
        if lang == "zh-TW":
            if self.tw:
                return self.tw
            from hall.hanzi import to_traditional
            return to_traditional(self.zh)
        return self.zh
