"""Claims the documents make about the code, checked against the code."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).parent.parent
DOCS = sorted([*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("firmware/*.md")])


def test_the_figures_of_the_estimate_doc_are_the_code_s():
    from caller import forecast
    from hall.config.queue import BalanceRules
    text = (ROOT / "docs" / "estimates.md").read_text(encoding="utf-8")
    assert "± 1.28 of it — an 80 % interval" in text and forecast.Z_RANGE == 1.28
    assert "the model's own error (15 % of the\n   wait" in text and forecast.MODEL_ERR == 0.15
    assert "(ten\n     minutes until the day has taught otherwise; at least two from now)" in text
    from caller.estimate import PAUSE_PRIOR
    assert PAUSE_PRIOR[0] == 600.0
    assert "expected within\n     two minutes" in text and forecast.LOGIN_GUESS_S == 120.0
    assert "`penalty_minutes` (60)" in text and BalanceRules().penalty_minutes == 60
    assert "(`spare_load`: within 80 % of their time" in text and BalanceRules().spare_load == 0.8
    assert "(an exponentially decaying\n   count, 30-minute time constant)" in text
    from caller.estimate import TAU_S
    assert TAU_S == 1800.0


def test_verbose_flag_is_written_where_it_works():
    """`-v` belongs to `onewindow`, before the subcommand; after it click refuses it."""
    from hall.cli import main
    assert CliRunner().invoke(main, ["-v", "bridge", "--help"]).exit_code == 0
    assert CliRunner().invoke(main, ["bridge", "-v", "--help"]).exit_code != 0
    wrong = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in DOCS
             for m in re.finditer(r"onewindow\s+(?!-)[a-z]+\s+-v\b", p.read_text(encoding="utf-8"))]
    assert wrong == []
