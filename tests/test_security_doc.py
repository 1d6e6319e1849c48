"""docs/security.md shows the ACL rules as they are."""

from __future__ import annotations

from hall.acl import doc_section, rights_table


def test_security_doc_rights_table_matches_the_rules():
    assert doc_section() == rights_table(), "run: .venv/bin/python -m hall.acl"
