"""Reports over the daily aggregates: history (read-only), the 效能指数, tables,
CSV/XLSX exports, charts and ``onewindow report`` (docs/admin.md, *Reports*)."""
