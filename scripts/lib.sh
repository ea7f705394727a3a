# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Functions the scripts share. Source it from the repository's root:
#   cd "$(dirname "$0")/.." && . scripts/lib.sh

# apt_install WHO PACKAGE...: installs the Debian packages that are not installed yet (none, the
# second time), as root or with sudo, after apt-get update, without recommends. WHO prefixes the
# message (the script's name).
apt_install() {
  local who=$1 p
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  local SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "$who: installing ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pip_install_kvsws WHO: builds and installs the Python package from this checkout into .venv, as the
# README says (`pip install .`: an isolated build, scikit-build-core and SWIG from PyPI, the core
# compiled into the extension). The extension needs Python.h for .venv's interpreter (Debian:
# python3-dev), installed first if missing.
pip_install_kvsws() {
  local who=$1 include
  include=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  if [ ! -f "$include/Python.h" ]; then
    echo "$who: no Python.h in $include"
    apt_install "$who" python3-dev
  fi
  .venv/bin/python -m pip install -q --force-reinstall --no-deps .
}

# pip_install_aiortc WHO: aiortc (examples/python/requirements.txt) into .venv, if missing: the
# Python example and the storage-session tests answer offers with it.
pip_install_aiortc() {
  if ! .venv/bin/python -c "import aiortc" 2>/dev/null; then
    echo "$1: pip install -r examples/python/requirements.txt (aiortc)"
    .venv/bin/python -m pip install -q -r examples/python/requirements.txt
  fi
}

# readme_block SECTION N: the Nth ```sh block under the README's "## SECTION" heading, as written
# (the scripts run the README's commands themselves, so the README cannot drift from what works).
readme_block() {
  awk -v section="## $1" -v n="$2" '
    /^## / { in_section = ($0 == section) }
    in_section && /^```sh$/ { block++; inside = (block == n); next }
    inside && /^```$/ { inside = 0 }
    inside { print }' README.md
}
