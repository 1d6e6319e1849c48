"""Config of evaluation (好差评) and SMS reminders."""

from __future__ import annotations

from pydantic import Field

from .base import Strict


class EvaluationConfig(Strict):
    timeout_s: int = Field(30, ge=5, le=300,
                           description="Seconds the evaluator waits for the citizen's key; then 'not rated'.")


class NotifyConfig(Strict):
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
