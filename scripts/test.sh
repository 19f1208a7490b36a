#!/usr/bin/env bash
# README command 2: set up, then run every test (ruff and mypy run inside pytest too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/python -m pytest "$@"
