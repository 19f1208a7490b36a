#!/usr/bin/env bash
# Installs everything xunbao needs on Debian/Ubuntu: system packages (CJK fonts, poppler,
# LibreOffice/antiword for old Office formats, unar for .rar, bubblewrap walling in the
# reader processes) and a virtualenv in .venv.
# `--dev` adds what only the tests need (Dovecot, chromium, strace, the test Python packages).
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  fonts-noto-cjk fonts-arphic-ukai libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0
  poppler-utils antiword libreoffice-writer-nogui libreoffice-calc-nogui
  openssl python3-venv unar bubblewrap
)
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1
# Browser tests drive Debian's chromium through chromium-driver (no browser download);
# strace watches the hostile corpus for network calls and stray writes (test_hostile_trace).
[ $DEV -eq 1 ] && APT_PACKAGES+=(dovecot-imapd chromium chromium-driver strace)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "安装系统软件包：${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
target="."
[ $DEV -eq 1 ] && target=".[dev]"
stamp=".venv/.xunbao-installed-$DEV"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "安装 Python 依赖（约需一两分钟）……"
  log=$(mktemp)
  if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e "$target"; } >"$log" 2>&1; then
    cat "$log"
    echo "Python 依赖安装失败（见上方输出）。" >&2
    exit 1
  fi
  rm -f "$log"
  touch "$stamp"
fi
# The service runs as xunbao on a read-only /opt (ProtectSystem=strict), so Python can never
# write the bytecode of xunbao's own modules: without this every command compiles them anew
# (~35 ms of `xunbao status`). Cheap when nothing changed; after `git pull` it refreshes them.
.venv/bin/python -m compileall -q pipeline >/dev/null
echo "环境已就绪：.venv/bin/xunbao"
