#!/usr/bin/env bash
# Installs what onewindow needs on a fresh Debian machine: Debian packages (when
# root and missing), a venv in .venv, and the project with its extras.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS="mosquitto espeak-ng fonts-wqy-zenhei fonts-noto-cjk libgl1-mesa-dri libegl1 libmtdev1 xvfb sox chromium chromium-driver openssl"
missing=""
for p in $APT_PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "bootstrap: installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    # the Debian package starts a system mosquitto on :1883; our scripts start their own
    systemctl disable --now mosquitto >/dev/null 2>&1 || true
  else
    echo "bootstrap: not root, cannot install:$missing; tests that need them fail" \
         "(ONEWINDOW_ALLOW_SKIPS=1 skips them instead)" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.onewindow-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".[ui,voice,input,embedded,web,reports,test,bench]"
  touch "$stamp"
fi
# the screens' font: the Simplified Chinese face out of Noto CJK's collection (hall/fonts.py)
.venv/bin/onewindow fonts >/dev/null
