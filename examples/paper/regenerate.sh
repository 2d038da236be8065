#!/usr/bin/env sh
# Retrain the example's store (9 tiny runs, CPU, about a minute) and regenerate the macros.
# Needed when a change to faspec's trainer changes run hashes (the guard then says the runs are
# missing) or values (then also update the numbers in main.tex and `reported:` in the spec).
set -eu
cd "$(dirname "$0")"
PY=${PYTHON:-python}
rm -rf results
$PY -m faspec.cli verify specs/ --executor local --device cpu --store results --reports "${TMPDIR:-/tmp}/faspec-example-reports" -q || true
find results \( -name checkpoint.pt -o -name ".*.lock" \) -delete
$PY -m faspec.cli macros specs/ --store results -o faspec_values.tex
$PY -m faspec.cli verify specs/ --no-run --reports "${TMPDIR:-/tmp}/faspec-example-reports" -q
$PY -m faspec.cli audit main.tex
