#!/bin/sh
# Download the official MoveNet models listed in models/manifest.toml and verify their checksums.
# Usage: scripts/fetch_models.sh [NAME ...] [--force]
exec python -m edge models fetch "$@"
