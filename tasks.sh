#!/usr/bin/env bash
# Set up everything micrograd_bn needs, then run one task.
#   bash tasks.sh main   set up, render BatchNorm's graph (batchnorm.svg, backward.html),
#                        print autodiff vs the paper's closed form
#   bash tasks.sh test   set up, run the whole test suite
# Set-up: Graphviz's `dot` and Chromium from Debian (skipped when present), a virtual
# environment in .venv with the package and its extras (pip install -e ".[test,demos]").
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {  # apt_install PROGRAM PACKAGE...: install the packages unless PROGRAM exists
  command -v "$1" >/dev/null 2>&1 && return 0
  shift
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

setup() {
  apt_install dot graphviz
  [ "${1:-}" = test ] && apt_install chromium chromium
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv 2>/dev/null || { apt_install false python3-venv; python3 -m venv .venv; }
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,demos]"
}

case "${1:-}" in
  main)
    setup
    .venv/bin/micrograd-bn graph --batch 4 --features 1 --seed 0 --out batchnorm.svg --html backward.html
    .venv/bin/micrograd-bn compare --batch 8 --features 3 --seed 0
    ;;
  test)
    setup test
    .venv/bin/python -m pytest -q
    ;;
  *)
    sed -n '2,7p' "$0"
    exit 2
    ;;
esac
