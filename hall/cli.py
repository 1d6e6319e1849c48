"""The `onewindow` command: one subcommand per process, loaded lazily.

A subcommand's module is imported only when it runs, so `onewindow caller` on
the engine host never imports Kivy, and a missing optional package is reported
by name instead of breaking every command.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command
SUBCOMMANDS = {
    "caller": ("caller.cli:cmd", "Run the queue engine."),
    "demo": ("sim.demo:cmd", "Run a whole simulated hall on embedded defaults."),
    "config": ("hall.config_cli:cmd", "Check a hall config; get, push, diff, history, rollback."),
    "acl": ("hall.acl:cmd", "Print the mosquitto ACL of a hall, generated from its config."),
    "certs": ("hall.certs:cmd", "Make the hall CA and TLS certificates for the broker and devices."),
    "creds": ("hall.creds:cmd", "Add, rotate or remove the broker password of an identity."),
    "bridge": ("firmware_bridge.cli:cmd", "Run the device bridge (serial and evdev ⇄ MQTT)."),
    "display": ("display.cli:display_cmd", "Run a wall display."),
    "announcer": ("display.cli:announcer_cmd", "Run the voice announcer."),
    "kiosk": ("kiosk.cli:cmd", "Run the touchscreen kiosk."),
    "sms": ("sms.cli:cmd", "Run the SMS sender."),
    "followup": ("caller.followup_cli:cmd", "List and close bad-review follow-ups."),
    "report": ("reports.cli:cmd", "A month's report: CSV, XLSX, charts, summary (效能指数 ranking)."),
    "case-adapter": ("caseadapter.cli:cmd", "Send an outside case system's CSV drop files or HTTPS feed to the engine."),
    "fonts": ("hall.fonts:cmd", "Extract the screens' CJK font (Noto Sans CJK SC) at install."),
    "voice-clips": ("display.cli:voice_clips_cmd", "Make the announcer's default voice prompts (espeak-ng)."),
    "web": ("web.cli:cmd", "Serve the window terminal (clerks' pages in a browser)."),
    # running a real hall (deploy/, docs/deploy.md)
    "install": ("deploy.cli:install_cmd", "Set up this machine for a role (server, kiosk, display, …)."),
    "upgrade": ("deploy.cli:upgrade_cmd", "Install a new release beside the running one, or roll back."),
    "backup": ("deploy.cli:backup_cmd", "Copy the engine's database while it runs."),
    "restore": ("deploy.cli:restore_cmd", "Check a backup and put it in place of the engine's database."),
    "status": ("deploy.status:cmd", "Every process and device of the hall: what is offline, since when."),
    "metrics": ("deploy.metrics:cmd", "Serve Prometheus /metrics from the hall bus."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        entry = SUBCOMMANDS.get(name)
        if entry is None:
            return None
        mod_name, attr = entry[0].split(":")
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as e:
            missing_mod = e.name  # `e` is unbound once the except block ends

            @click.command(name=name, help=entry[1])
            def missing():
                raise click.ClickException(f"`onewindow {name}` is not available: missing module {missing_mod}")
            return missing
        return getattr(mod, attr)

    def format_commands(self, ctx, formatter):
        rows = [(n, SUBCOMMANDS[n][1]) for n in sorted(SUBCOMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def main(verbose: bool) -> None:
    """onewindow: kiosks, queue calling and window devices for a service hall."""
    from .journal_log import setup
    setup(verbose)  # no second timestamp under systemd's journal


if __name__ == "__main__":
    main()
