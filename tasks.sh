#!/usr/bin/env bash
# Set up everything micrograd_bn needs, then run one task.
#   bash tasks.sh main   set up, render BatchNorm's graph (batchnorm.svg, backward.html),
#                        print autodiff vs the paper's closed form
#   bash tasks.sh test   set up, run the whole test suite twice: on the Python engine, then on
#                        the compiled one (fails if it was not built); extra arguments go to pytest
# Set-up: Graphviz's `dot`, Chromium, gcc and the Python headers from Debian (each skipped when
# present), a virtual environment in .venv with the package and its extras (pip install -e
# ".[test,demos]", which also compiles micrograd_bn/engine.py with mypyc: see setup.py).
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {  # apt_install PROGRAM PACKAGE...: install the packages unless PROGRAM exists ("": always)
  [ -n "$1" ] && command -v "$1" >/dev/null 2>&1 && return 0
  shift
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

setup() {
  apt_install dot graphviz
  [ "${1:-}" = test ] && apt_install chromium chromium
  apt_install gcc gcc  # to compile the engine; without gcc or the headers the Python engine runs alone
  python3 -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' ||
    apt_install "" python3-dev  # the headers of Debian's python3 (another Python brings its own)
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv 2>/dev/null || { apt_install "" python3-venv; python3 -m venv .venv; }
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test,demos]"
  if .venv/bin/python -c "import micrograd_bn._engine_compiled" 2>/dev/null; then
    echo "engine: compiled engine built (MICROGRAD_BN_ENGINE=compiled or auto runs it)"
  else
    echo "engine: compiled engine NOT built (no gcc or Python headers?): only the Python engine runs" >&2
  fi
}

run_tests() {  # run_tests ENGINE [PYTEST ARGS]: the suite on one engine; exit code 5 (no tests ran) fails too
  local engine=$1 status=0
  shift
  echo "== tests, MICROGRAD_BN_ENGINE=$engine"
  MICROGRAD_BN_ENGINE=$engine .venv/bin/python -m pytest -q "$@" || status=$?
  [ "$status" = 5 ] && echo "no tests ran on the $engine engine" >&2
  return "$status"
}

case "${1:-}" in
  main)
    setup
    .venv/bin/micrograd-bn graph --batch 4 --features 1 --seed 0 --out batchnorm.svg --html backward.html
    .venv/bin/micrograd-bn compare --batch 8 --features 3 --seed 0
    ;;
  test)
    setup test
    shift
    status=0
    run_tests python "$@" || status=1
    run_tests compiled "$@" || status=1  # an engine that was not built fails here, at import
    exit "$status"
    ;;
  *)  # one line, exit 2: no task, or one this script does not know
    usage="usage: bash tasks.sh main | test [PYTEST ARGS] (main: set up, draw BatchNorm's graph, compare; test: set up, run the tests)"
    if [ -n "${1:-}" ]; then echo "tasks.sh: unknown task '$1'; $usage" >&2; else echo "$usage" >&2; fi
    exit 2
    ;;
esac
