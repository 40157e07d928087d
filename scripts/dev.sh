#!/bin/sh
# One entry point for the README's two commands. It creates .venv on first use (Python 3.11+ and
# pip are all it needs), installs benchmarkkit with its test extra in editable mode, then runs:
#   sh scripts/dev.sh report [options]   the yearly comparison report on the embedded demo data
#   sh scripts/dev.sh test [pytest args] the test suite (what CI runs)
#   sh scripts/dev.sh bench [args]       the speed benchmarks (not part of the test suite)
#   sh scripts/dev.sh mutate [--sample N] mutation testing with mutmut, apart from CI (TESTING.md)
#   sh scripts/dev.sh <command> ...      any other benchmarkkit command
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)
if [ ! -f "$stamp" ]; then
    echo "setting up .venv (first run only) ..." >&2
    if ! .venv/bin/python -m pip install --disable-pip-version-check -e '.[test]' \
            > .venv/install.log 2>&1; then
        cat .venv/install.log >&2
        echo "error: installing benchmarkkit failed (log above, also in .venv/install.log)" >&2
        exit 1
    fi
    touch "$stamp"
fi
cmd=${1:-report}
[ $# -gt 0 ] && shift
case "$cmd" in
    test)  exec .venv/bin/python -m pytest "$@" ;;
    bench) exec .venv/bin/python -m pytest tests/benchmarks --benchmark-only "$@" ;;
    mutate)
        .venv/bin/python -c "import mutmut" 2>/dev/null ||
            .venv/bin/python -m pip install --disable-pip-version-check -q -e '.[test,mutate]'
        case "${1:-}" in report) ;; *) set -- run "$@" ;; esac
        exec nice -n 10 .venv/bin/python scripts/mutate.py "$@" ;;
    *)     exec .venv/bin/benchmarkkit "$cmd" "$@" ;;
esac
