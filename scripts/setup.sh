#!/usr/bin/env bash
# Set up Trackside for development or a laptop replay: a virtual environment in .venv with
# the project and its dev tools, and the default MoveNet model, verified by checksum.
#
#   ./scripts/setup.sh                              # downloads the model from its official URL
#   ./scripts/setup.sh --models-from DIR            # copies it from a local folder instead
#                                                   # (offline machines, a USB stick, ../shared/models)
#   ./scripts/setup.sh --latest                     # newest allowed versions, not the tested set
# Python packages come at the tested versions of edge/data/constraints.txt unless --latest.
# On a Raspberry Pi use scripts/install-pi.sh instead: it also sets up the camera and service.
set -euo pipefail

cd "$(dirname "$0")/.."
models_from=""
constraints=(--constraint edge/data/constraints.txt)
while [ $# -gt 0 ]; do
  case "$1" in
    --models-from) models_from="${2:?--models-from needs a directory}"; shift 2 ;;
    --latest) constraints=(); shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option: $1" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup.sh: Trackside needs Python 3.11 or newer ($("$python" --version 2>&1) found)" >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "${constraints[@]}" -e ".[dev]"

if [ -n "$models_from" ]; then
  .venv/bin/trackside models fetch --from "$models_from"
else
  .venv/bin/trackside models fetch
fi
echo "Ready: .venv/bin/trackside --help"
