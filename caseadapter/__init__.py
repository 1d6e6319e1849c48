"""`onewindow case-adapter`: an example bridge from a hall's outside case system
(审批系统) to the engine's case ops, through a CSV drop folder.

The outside system writes a CSV file per batch into the inbox folder; the
adapter sends each row as a request on ``device/<id>/request/case_open |
case_step | case_extend`` under its own broker login (``cases.systems`` in
the hall config), writes ``done/<file>.result.csv`` (one line per row: ok and
the case number, or the refusal's code and message; no personal data) and
deletes the input, which carried the applicants' names and numbers.

``csvdrop.py`` holds the file format (pure); ``service.py`` the process.
docs/cases.md shows the columns.
"""
