#!/usr/bin/env bash
# Builds the source package and checks it: R CMD build, then R CMD check --no-manual
# with tests and vignettes. Fails on any ERROR or WARNING in the check (NOTEs are
# listed). Run from anywhere: bash tools/check.sh
# Leaves dsMHE_<version>.tar.gz and dsMHE.Rcheck/ in the package root.
# Extra arguments are passed to R CMD check (e.g. --as-cran).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# tests/testthat/test-vendor.R compares Cargo.lock with the vendored crates here
export DSMHE_SOURCE_DIR="$root"
# run every test, including any skipped on CRAN
export NOT_CRAN=true

rm -rf dsMHE.Rcheck dsMHE_*.tar.gz
echo "check.sh: R CMD build"
R CMD build .
tarball="$(ls dsMHE_*.tar.gz)"
echo "check.sh: built $tarball ($(stat -c %s "$tarball") bytes)"

echo "check.sh: R CMD check --no-manual $* $tarball"
check_rc=0
R CMD check --no-manual "$@" "$tarball" || check_rc=$?

log=dsMHE.Rcheck/00check.log
for f in dsMHE.Rcheck/tests/testthat.Rout.fail dsMHE.Rcheck/tests/testthat.Rout; do
  if [ -f "$f" ]; then
    echo "check.sh: testthat ($f):"
    grep -E '^\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$f" | tail -n 1 || true
    # skipped tests, with their reasons
    sed -n '/══ Skipped ══/,/══ /p' "$f" | head -n 40
    if [ "${f##*.}" = fail ]; then tail -n 60 "$f"; fi
    break
  fi
done

if [ ! -f "$log" ]; then
  echo "check.sh: no $log: R CMD check did not run" >&2
  exit 1
fi
status="$(grep -E '^Status: ' "$log" | tail -n 1 || true)"
echo "check.sh: $status"
# every NOTE, WARNING and ERROR with its explanation
awk '/\.\.\. (NOTE|WARNING|ERROR)$/ { show = 1; print; next }
     /^\* / { show = 0 }
     show { print "    " $0 }' "$log"
if [ -z "$status" ] || echo "$status" | grep -qE 'ERROR|WARNING'; then
  echo "check.sh: FAILED (${status:-no status line})" >&2
  exit 1
fi
if [ "$check_rc" -ne 0 ]; then
  echo "check.sh: R CMD check exited with $check_rc" >&2
  exit 1
fi
echo "check.sh: OK"
