"""From a blank machine to a running hall: `onewindow install ROLE`, releases
and upgrades, backups, status and metrics.  See docs/deploy.md."""
