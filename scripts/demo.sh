#!/usr/bin/env bash
# README command 1: set up, then run the dekad job on the embedded sample mailbox, and make a
# demo account for the desk whose password is generated now and printed once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/xunbao run --period 2015-09-20 --no-send
echo "通报：out/2015-09-20/circular.pdf"

password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
if .venv/bin/xunbao user list | grep -q '^演示（'; then
  printf '%s\n' "$password" | .venv/bin/xunbao user password 演示 --password-stdin >/dev/null
else
  printf '%s\n' "$password" | .venv/bin/xunbao user add 演示 --role leader --password-stdin >/dev/null
fi
cat <<TEXT

审核台（网页）：运行  .venv/bin/xunbao desk  后，在浏览器中打开 http://127.0.0.1:8700/
  账号：演示（签发领导）
  密码：$password
  （密码是刚刚随机生成的，只显示这一次；再次运行本脚本会换一个新密码。）
TEXT
