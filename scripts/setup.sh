#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs everything kvsws needs on Debian 12: build tools and -dev packages from Debian, the
# Python test tools from PyPI into .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

apt_install setup build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libcjson-dev swig \
  python3 python3-dev python3-venv python3-pip valgrind binutils

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -r requirements-dev.txt
echo "setup: done"
