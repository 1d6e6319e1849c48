"""Claims the documents make about the code, checked against the code."""

from __future__ import annotations

import math
import re
from pathlib import Path

from click.testing import CliRunner

from caller.estimate import Estimator

ROOT = Path(__file__).parent.parent
DOCS = sorted([*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("firmware/*.md")])


def test_estimate_examples_in_the_queue_policy_are_what_the_engine_says():
    text = (ROOT / "docs" / "queue-policy.md").read_text(encoding="utf-8")
    examples = re.findall(r"(\d+) ahead(?:, (\d+) handling minutes, (\d+) windows)? →\s+"
                          r"(?:⌈[^⌉]*⌉ = )?(\d+)", text)
    assert len(examples) == 2, examples
    minutes, windows = int(examples[0][1]), int(examples[0][2])
    est = Estimator({"M": minutes}, 0.2)
    for ahead, _, _, shown in examples:
        assert est.estimate_min("M", int(ahead), windows) == int(shown)
        assert int(shown) == math.ceil((int(ahead) + 0.5) * minutes / windows)


def test_verbose_flag_is_written_where_it_works():
    """`-v` belongs to `onewindow`, before the subcommand; after it click refuses it."""
    from hall.cli import main
    assert CliRunner().invoke(main, ["-v", "bridge", "--help"]).exit_code == 0
    assert CliRunner().invoke(main, ["bridge", "-v", "--help"]).exit_code != 0
    wrong = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in DOCS
             for m in re.finditer(r"onewindow\s+(?!-)[a-z]+\s+-v\b", p.read_text(encoding="utf-8"))]
    assert wrong == []
