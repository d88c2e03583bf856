#!/usr/bin/env bash
# Installs whatever is missing, then runs the grader's demo or its tests.
#   ./bootstrap.sh demo [grader demo options]    grade a finished lab in the local sandbox
#   ./bootstrap.sh test [pytest options]         check the code (ruff, mypy), then run the grader's own tests
# Idempotent: a second run installs nothing and starts at once. Only `test` needs the dev tools
# (pyproject.toml's `dev` extra).
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

# The stamp holds the hash of pyproject.toml it was installed from, then " dev" when the dev
# extra was installed too; an install with the dev extra serves both commands.
ensure_python_packages() {
  local extras="${1:-}" want have=""
  want=$(sha256sum < pyproject.toml | cut -d' ' -f1)
  [ -f "$STAMP" ] && have=$(cat "$STAMP")
  if [ -x "$VENV/bin/python" ] && { [ "$have" = "$want dev" ] || { [ -z "$extras" ] && [ "$have" = "$want" ]; }; }; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating the virtual environment in $VENV"
    "$(find_python)" -m venv "$VENV"
  fi
  say "Installing the grader and its Python packages${extras:+ (with the $extras tools)}"
  # (this machine's pip configuration may warn about absent local package folders: not ours)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}" 2>&1 |
    { grep -v "^WARNING: Location '.*' is ignored" || true; } >&2
  echo "$want${extras:+ $extras}" > "$STAMP"
}

# ruff (lint and format) over grader/, checks/, tests/ and benchmarks/, and mypy over the files
# pyproject.toml names, as it configures them.
# Each runs even when one before it found something; then the tests do not start.
check_code() {
  local failed=()
  local code=(grader checks tests benchmarks)
  "$VENV/bin/ruff" check "${code[@]}" || failed+=("ruff check ${code[*]}  (some are fixed by: $VENV/bin/ruff check --fix ${code[*]})")
  "$VENV/bin/ruff" format --check "${code[@]}" || failed+=("ruff format --check ${code[*]}  (fixed by: $VENV/bin/ruff format ${code[*]})")
  "$VENV/bin/mypy" || failed+=("mypy  (the files and settings are in pyproject.toml)")
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "bootstrap: the code checks found problems (shown above), so the tests were not run:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    echo "Fix them and run ./bootstrap.sh test again." >&2
    exit 1
  fi
}

have_browser() {
  "$VENV/bin/python" -c 'from grader.browser import find_browser; find_browser()' >/dev/null 2>&1
}

# ensure_browser WHEN PACKAGES: WHEN is `if-none` (install only when the grader finds no browser)
# or `always` (install whichever of PACKAGES is missing). Debian's chromium-headless-shell is the
# browser the grader prefers (less CPU per page than a full Chromium); the tests also drive a full
# one, as on students' machines, so `test` wants both, always.
# Installed with apt-get as root, once (dpkg-query sees them afterwards); a package apt cannot install
# is said and left out, and the grader's own browser search decides whether there is one to use.
ensure_browser() {
  local when="$1" wanted="$2" missing="" package
  if ! [ -f grader/browser/__init__.py ]; then
    return 0
  fi
  if [ "$when" = "if-none" ] && have_browser; then
    wanted=""
  fi
  if command -v dpkg-query >/dev/null 2>&1; then
    for package in $wanted; do
      # Installed, not just known (a removed package keeps its config files and its dpkg entry).
      [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] ||
        missing="$missing $package"
    done
  fi
  if [ -n "$missing" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      say "Installing Debian's$missing for the browser checks"
      # shellcheck disable=SC2086  # one word per package
      if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null; }; then
        say "apt-get could not install$missing"
      fi
    else
      say "Not installed:$missing (Debian: sudo apt-get install$missing)"
    fi
  fi
  if ! have_browser; then
    echo "bootstrap: no Chromium found. Install one (Debian: sudo apt-get install chromium-headless-shell;" \
      "elsewhere: $VENV/bin/playwright install chromium) and run this again." >&2
    exit 2
  fi
}

command="${1:-}"
shift || true
case "$command" in
  demo)
    ensure_python_packages
    ensure_browser if-none chromium-headless-shell
    exec "$VENV/bin/grader" demo "$@"
    ;;
  test)
    ensure_python_packages dev
    check_code
    ensure_browser always "chromium-headless-shell chromium"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./bootstrap.sh demo [options] | ./bootstrap.sh test [pytest options]" >&2
    exit 2
    ;;
esac
