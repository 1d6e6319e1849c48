"""The engine runs no pydantic plugins (none is installed, and none is wanted in it).

pydantic looks for plugins when it builds its first model, and its loader
imports ``importlib.metadata`` for that — email, zipfile, csv and the rest,
2.3 MB of the engine's RSS for an empty answer (``PYDANTIC_DISABLE_PLUGINS``
skips the search, not the import).  :func:`without_pydantic_plugins` gives
pydantic a loader without plugins; it must run before the first model is
built (``caller/cli.py`` calls it before importing the config).  If pydantic
ever moves its loader, the import comes back and
``tests/test_caller_imports.py`` says so.  Its own module, with no imports of
the project: ``bench/memory.py`` applies it before measuring what each library
adds.
"""

from __future__ import annotations

import sys
import types


def without_pydantic_plugins() -> None:
    if "pydantic.plugin._loader" not in sys.modules:
        loader = types.ModuleType("pydantic.plugin._loader")
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        sys.modules["pydantic.plugin._loader"] = loader
