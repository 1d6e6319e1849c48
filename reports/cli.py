"""``onewindow report``: a month's (or any range's) report as files, for cron and e-mail."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from .history import GROUPS, History, HistoryError, month_span


@click.command(name="report")
@click.option("--config", "config_path", default="/etc/onewindow/hall/hall.yaml", show_default=True,
              type=click.Path(exists=True, dir_okay=False), help="Hall config YAML (names, 效能指数 weights).")
@click.option("--db", default="/var/lib/onewindow/caller.sqlite", show_default=True,
              help="The engine's database (opened read-only; only its daily aggregates are read).")
@click.option("--month", help="YYYY-MM, e.g. 2026-11.")
@click.option("--from", "first", help="First day (YYYY-MM-DD), with --to, instead of --month.")
@click.option("--to", "last", help="Last day (YYYY-MM-DD).")
@click.option("--by", type=click.Choice(GROUPS), default="day", show_default=True,
              help="Periods of the by-period table.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--no-charts", is_flag=True, help="Tables only (no matplotlib).")
def cmd(config_path: str, db: str, month: str | None, first: str | None, last: str | None, by: str,
        out_dir: str, no_charts: bool) -> None:
    """Write a report: CSV, XLSX, PNG charts and a Markdown summary (report.md)."""
    from hall.config import ConfigError, load_config

    from . import charts, export, summary
    from .tables import build
    try:
        if month:
            d0, d1 = month_span(month)
        elif first and last:
            d0, d1 = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        else:
            raise click.UsageError("give --month YYYY-MM, or --from and --to")
        cfg = load_config(config_path)
        h = History(db).open()
    except (ConfigError, HistoryError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    try:
        report = build(cfg, h.rows(d0, d1), d0, d1, by)
    finally:
        h.close()
    out = Path(out_dir)
    stem = f"report-{month or f'{d0}_{d1}'}"
    files = export.write_all(report, out, stem)
    pngs: dict[str, str] = {}
    if not no_charts:
        for name in charts.CHARTS:
            p = out / f"{stem}-{name}.png"
            p.write_bytes(charts.draw(report, name))
            pngs[name] = p.name
            files.append(p)
    md = out / f"{stem}.md"
    md.write_text(summary.markdown(report, cfg.hall.name.zh, pngs), encoding="utf-8")
    files.append(md)
    if not report.hall_days:
        click.echo(f"no daily aggregates between {d0} and {d1}: the files hold headers only", err=True)
    for f in files:
        click.echo(str(f))
