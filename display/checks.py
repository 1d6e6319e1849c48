"""Cross-checks of the ``screens`` section against the rest of the hall config.

``hall/config/screens.py`` cannot see the hall's zones, so a display or the
announcer runs these at start and refuses a config that names a zone the hall
does not have (a typo there would be a silent screen or a silent zone).
"""

from __future__ import annotations

from hall.config import ConfigError, HallConfig


def screen_problems(cfg: HallConfig) -> list[tuple[str, str]]:
    return cfg.screens.zone_problems({z.id for z in cfg.zones})


def check_screens(cfg: HallConfig, source: str = "config") -> None:
    problems = screen_problems(cfg)
    if problems:
        raise ConfigError(problems, source)
