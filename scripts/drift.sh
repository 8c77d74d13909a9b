#!/usr/bin/env bash
# Run the test suite against the newest versions pyproject.toml allows, to see drift before
# users do: a new OpenCV, NumPy or LiteRT release that changes results shows up here first.
#
#   ./scripts/drift.sh                 report: versions that differ from the lock, then the suite
#   ./scripts/drift.sh --update-lock   the same, and if the suite passes, write the new tested
#                                      set to edge/data/constraints*.txt (commit those files)
#   ./scripts/drift.sh -- -k pose      extra arguments after -- go to pytest
#
# Needs the model and the shared clips like the suite itself (TRACKSIDE_MODEL_DIR,
# TRACKSIDE_SHARED_DIR; see .ci/run).  Environments: .venv-latest and .venv-latest-tflite.
# Exit status: the suite's (0 when everything passed with the newest versions).
set -euo pipefail

cd "$(dirname "$0")/.."
update=no
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --update-lock) update=yes; shift ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "drift.sh: unknown option: $1" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
lock=edge/data/constraints.txt
tflite_lock=edge/data/constraints-tflite.txt

rm -rf .venv-latest .venv-latest-tflite
"$python" -m venv .venv-latest
.venv-latest/bin/python -m pip install --quiet --upgrade pip
.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"
"$python" -m venv .venv-latest-tflite
.venv-latest-tflite/bin/python -m pip install --quiet --upgrade pip
# tflite-runtime 2.14 needs NumPy 1.x, and OpenCV releases from 4.11 on need NumPy 2.
.venv-latest-tflite/bin/python -m pip install --quiet --upgrade "numpy<2" "tflite-runtime>=2.14,<3" \
  "opencv-python-headless>=4.10,<4.11"
.venv-latest-tflite/bin/python -m pip install --quiet --no-deps -e .

frozen=$(mktemp)
frozen_tflite=$(mktemp)
trap 'rm -f "$frozen" "$frozen_tflite"' EXIT
.venv-latest/bin/python -m pip freeze --exclude-editable > "$frozen"
.venv-latest-tflite/bin/python -m pip freeze --exclude-editable \
  | grep -iE '^(numpy|opencv-python-headless|tflite-runtime)==' > "$frozen_tflite"

echo "== versions that differ from the tested set"
changed=$( { diff <(grep -v '^#' "$lock") "$frozen"; diff <(grep -v '^#' "$tflite_lock") "$frozen_tflite"; } \
  | grep -E '^[<>]' || true)
if [ -n "$changed" ]; then
  echo "$changed" | sed -e 's/^</  tested:/' -e 's/^>/  newest:/'
else
  echo "  none: the newest allowed versions are the tested set"
fi

echo "== the test suite on the newest versions"
status=0
TRACKSIDE_ALLOW_UNTESTED_VERSIONS=1 TRACKSIDE_TFLITE_PYTHON="$PWD/.venv-latest-tflite/bin/python" \
  .venv-latest/bin/python -m pytest "${pytest_args[@]}" || status=$?

if [ "$update" = yes ]; then
  if [ "$status" -ne 0 ]; then
    echo "drift.sh: the suite failed on the newest versions; the lock is unchanged" >&2
  else
    { grep '^#' "$lock"; cat "$frozen"; } > "$lock.new" && mv "$lock.new" "$lock"
    { grep '^#' "$tflite_lock"; cat "$frozen_tflite"; } > "$tflite_lock.new" && mv "$tflite_lock.new" "$tflite_lock"
    echo "drift.sh: wrote $lock and $tflite_lock; run scripts/setup.sh again and commit them"
  fi
fi
exit "$status"
