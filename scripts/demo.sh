#!/usr/bin/env bash
# README command 1: set up, then run the dekad job on the embedded sample mailbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/xunbao run --period 2015-09-20 --no-send
echo "通报：out/2015-09-20/circular.pdf"
