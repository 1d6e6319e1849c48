#!/usr/bin/env bash
# Runs the suite headless; fails on "no tests collected" (pytest exit 5).
# Run without a test path (the whole suite, as CI does), it then runs every
# benchmark in bench/ with --quick, so that none of them rots: a crash fails.
# A test that needs a missing tool (mosquitto, espeak-ng, …) fails naming the
# package, unless ONEWINDOW_ALLOW_SKIPS=1 (tests/needs.py).
set -uo pipefail
cd "$(dirname "$0")/.."
export SDL_VIDEODRIVER=offscreen KIVY_NO_ARGS=1 KIVY_NO_CONSOLELOG=1 KIVY_WINDOW=sdl2
export KIVY_HOME="$(mktemp -d)"
trap 'rm -rf "$KIVY_HOME"' EXIT
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "run_tests: pytest collected no tests: failing" >&2
  exit 1
fi
[ $rc -eq 0 ] || exit $rc

whole_suite=1
for a in "$@"; do
  [ -e "${a%%::*}" ] && whole_suite=0
done
[ $whole_suite -eq 1 ] || exit 0

for b in bench/*.py; do
  grep -q '^if __name__ == "__main__":' "$b" || continue   # a helper module, not a benchmark
  start=$(date +%s)
  # one second try: on a loaded shared machine a quick run can time out once;
  # a benchmark that has rotted fails both
  if ! out=$(timeout 300 .venv/bin/python "$b" --quick --json 2>&1 >/dev/null) &&
     ! out=$(timeout 300 .venv/bin/python "$b" --quick --json 2>&1 >/dev/null); then
    echo "run_tests: $b --quick failed twice:" >&2
    echo "$out" | tail -20 >&2
    exit 1
  fi
  echo "run_tests: $b --quick ran ($(( $(date +%s) - start )) s)"
done
exit 0
