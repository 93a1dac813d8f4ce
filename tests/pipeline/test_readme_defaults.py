"""What the README says the defaults are is what the code does."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_trigger_ranking_defaults_match_the_code():
    from attaudit.cli.main import build_parser
    from common.audit_config import AuditConfig

    text = " ".join(README.split())
    stated = re.search(r'`AuditConfig\(trigger_ranking="(\w+)"\)`, the default', text)
    assert stated and stated.group(1) == AuditConfig().trigger_ranking
    mine = re.search(r"`attaudit triggers mine` ranks by summed attribution \(`--rank-by (\w+)`\)", text)
    args = build_parser().parse_args(["triggers", "mine", "--model", "m", "--data", "d", "--out", "o"])
    assert mine and mine.group(1) == args.rank_by and args.validation is None
