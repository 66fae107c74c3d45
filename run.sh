#!/usr/bin/env bash
# Quick start. `./run.sh demo` runs the main job, `./run.sh test` the test suite; `./run.sh setup` only
# installs. The first run creates .venv and installs the package (CPU torch pinned by constraints.txt).
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=.venv
STAMP="$VENV/.installed"

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    # Reinstall only when the dependency description changed since the last install.
    local want
    want=$(cat pyproject.toml constraints.txt requirements-no-deps.txt | sha256sum | cut -d' ' -f1)
    if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[dev]"
        "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements-no-deps.txt
        echo "$want" > "$STAMP"
    fi
}

case "${1:-demo}" in
    setup) setup ;;
    demo)  setup; shift || true; exec "$VENV/bin/logo-sim" demo "$@" ;;
    test)  setup; shift || true; exec "$VENV/bin/python" -m pytest -q "$@" ;;
    *)     echo "usage: ./run.sh [demo|test|setup] [args...]" >&2; exit 2 ;;
esac
