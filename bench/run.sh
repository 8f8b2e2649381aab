#!/usr/bin/env bash
# Benchmarks of Latent against scikit-learn, hmmlearn and PyTorch: writes BENCHMARKS.md and
# bench/results.json. Run by `make bench` after the release build; see bench/bench.py for the
# environment variables (BENCH_REPS, BENCH_QUICK=1 for a smoke test, BENCH_ONLY=...).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ beside the sources

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$BENCH/.venv"
PY="$VENV/bin/python"
mkdir -p "$BENCH/work"
STATUS="$BENCH/work/install-status.json"
LOG="$BENCH/work/pip-install.log"

if [ ! -x "$PY" ]; then
    echo "bench: creating $VENV"
    python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip >>"$LOG" 2>&1 || true
fi

# Each anchor separately, so that one failing install marks only its workloads "anchor not installable".
# A package already importable is not reinstalled.
declare -A STATE
for spec in "numpy:numpy" "threadpoolctl:threadpoolctl" "sklearn:scikit-learn" "hmmlearn:hmmlearn" "torch:torch" "statsmodels:statsmodels" "safetensors:safetensors"; do
    module="${spec%%:*}"
    dist="${spec#*:}"
    if "$PY" -c "import $module" >/dev/null 2>&1; then
        STATE[$module]=ok
        continue
    fi
    echo "bench: pip install $dist (log: $LOG)"
    if "$PY" -m pip install "$dist" >>"$LOG" 2>&1 && "$PY" -c "import $module" >/dev/null 2>&1; then
        STATE[$module]=ok
    else
        echo "bench: $dist could not be installed; its workloads are reported as 'anchor not installable'" >&2
        STATE[$module]=failed
    fi
done

{
    printf '{'
    sep=""
    for module in numpy threadpoolctl sklearn hmmlearn torch statsmodels; do
        printf '%s"%s": "%s"' "$sep" "$module" "${STATE[$module]}"
        sep=", "
    done
    printf '}\n'
} >"$STATUS"

if [ "${STATE[numpy]}" != ok ] || [ "${STATE[threadpoolctl]}" != ok ]; then
    echo "bench: numpy and threadpoolctl are needed to run any benchmark; see $LOG" >&2
    exit 1
fi

exec "$PY" "$BENCH/bench.py" "$@"
