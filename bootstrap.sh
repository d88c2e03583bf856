#!/usr/bin/env bash
# Installs whatever is missing, then runs the grader's demo or its tests.
#   ./bootstrap.sh demo [grader demo options]    grade a finished lab in the local sandbox
#   ./bootstrap.sh test [pytest options]         run the grader's own tests
# Idempotent: a second run installs nothing and starts at once.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
STAMP="$VENV/.installed"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "bootstrap: Python 3.11 or newer is needed; install it and run this again." >&2
  exit 2
}

ensure_python_packages() {
  local want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating the virtual environment in $VENV"
    "$(find_python)" -m venv "$VENV"
  fi
  say "Installing the grader and its Python packages"
  # (this machine's pip configuration may warn about absent local package folders: not ours)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e . 2>&1 |
    { grep -v "^WARNING: Location '.*' is ignored" || true; } >&2
  echo "$want" > "$STAMP"
}

have_browser() {
  "$VENV/bin/python" -c 'from grader.browser import find_browser; find_browser()' >/dev/null 2>&1
}

ensure_browser() {
  if ! [ -f grader/browser/__init__.py ] || have_browser; then
    return 0
  fi
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "Installing Debian's chromium for the browser checks"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "bootstrap: no Chromium found. Install one (Debian/Ubuntu: sudo apt-get install chromium;" \
      "elsewhere: $VENV/bin/playwright install chromium) and run this again." >&2
    exit 2
  fi
}

command="${1:-}"
shift || true
case "$command" in
  demo)
    ensure_python_packages
    ensure_browser
    exec "$VENV/bin/grader" demo "$@"
    ;;
  test)
    ensure_python_packages
    ensure_browser
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./bootstrap.sh demo [options] | ./bootstrap.sh test [pytest options]" >&2
    exit 2
    ;;
esac
