#!/usr/bin/env bash
# Runs the whole suite headless; fails on "no tests collected" (pytest exit 5).
set -uo pipefail
cd "$(dirname "$0")/.."
export SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_NO_CONSOLELOG=1 KIVY_WINDOW=sdl2
export KIVY_HOME="$(mktemp -d)"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "run_tests: pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
