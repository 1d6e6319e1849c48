"""Reports: the monthly 效能指数 (efficiency index) and its weights.

The index scores a department or a staff member for a month from its daily
aggregates (hall/daystats.py): each term is a share between 0 and 1, the
weighted mean of the terms that apply (a unit with no decided case has no
case terms, a department no presence) times 100, minus points per complaint.
docs/admin.md works one through by hand.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from .base import Strict


class EfficiencyWeights(Strict):
    served: float = Field(0.3, ge=0, le=100, description="受理量: visits served, as a share of the most any unit "
                                                         "in the same ranking served that month.")
    early: float = Field(0.2, ge=0, le=100, description="提前办结: share of decided cases decided before their "
                                                        "deadline.")
    on_time: float = Field(0.2, ge=0, le=100, description="逾时办结, inverted: share of decided cases that were "
                                                          "not overdue.")
    satisfaction: float = Field(0.2, ge=0, le=100, description="满意率: share of ratings 基本满意 or better.")
    discipline: float = Field(0.1, ge=0, le=100, description="纪律: share of logged-in time not paused (staff only; "
                                                             "a department has no presence of its own).")
    complaint_points: float = Field(2.0, ge=0, le=100, description="投诉: points taken off per bad review "
                                                                   "(不满意 or 非常不满意) in every 100 visits "
                                                                   "served.")

    @model_validator(mode="after")
    def _some_weight(self) -> "EfficiencyWeights":
        if not (self.served or self.early or self.on_time or self.satisfaction or self.discipline):
            raise ValueError("at least one weight must be above 0")
        return self


class ReportsConfig(Strict):
    efficiency: EfficiencyWeights = Field(default_factory=EfficiencyWeights,
                                          description="Weights of the monthly 效能指数 per department and staff.")
