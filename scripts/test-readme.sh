#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's Python and Go install commands, exactly as written (the other blocks run in
# test-build.sh, cross-test.sh, test_py_wheel.py and tests/go-consumer/run.sh):
#   - "Python", from source: the apt-get line, a new venv and `pip install .`, in a clean copy of
#     the checkout (its tracked files), then `import kvsws` and `kvsws --version` from that venv;
#   - "Go": the apt-get line (the `go get` line runs in tests/go-consumer/run.sh, in a new module).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
apt_install test-readme sudo git
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== the README's Python source install, as written (in a clean copy)"
readme_block Python 2 >"$work/python.sh"
grep -q '^pip install \.' "$work/python.sh" || { echo "test-readme: no 'pip install .' in the README's Python block" >&2; exit 1; }
cat "$work/python.sh"
mkdir "$work/kvsws"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work/kvsws"
start=$(date +%s)
(cd "$work/kvsws" && DEBIAN_FRONTEND=noninteractive bash -euo pipefail "$work/python.sh") >"$work/python.log" 2>&1 ||
  { cat "$work/python.log"; echo "test-readme: the README's Python install failed" >&2; exit 1; }
version=$(cd / && "$work/kvsws/.venv/bin/python" -c 'import kvsws; print(kvsws.__version__)')
want=$(sed -n 's/^#define KVSWS_VERSION_STRING "\(.*\)"$/\1/p' core/include/kvsws.h)
[ "$version" = "$want" ] || { echo "test-readme: import kvsws gave version '$version', kvsws.h says $want" >&2; exit 1; }
cli=$("$work/kvsws/.venv/bin/kvsws" --version)
[ "$cli" = "kvsws/$want" ] || { echo "test-readme: kvsws --version printed '$cli'" >&2; exit 1; }
echo "test-readme: pip install . in $(($(date +%s) - start)) s; import kvsws $version; $cli"

echo "== the README's Go install line, as written"
readme_block Go 1 | grep '^sudo apt-get install' >"$work/go.sh" ||
  { echo "test-readme: no apt-get line in the README's Go block" >&2; exit 1; }
cat "$work/go.sh"
DEBIAN_FRONTEND=noninteractive bash -euo pipefail "$work/go.sh" >"$work/go.log" 2>&1 ||
  { cat "$work/go.log"; echo "test-readme: the README's Go apt-get line failed" >&2; exit 1; }
echo "test-readme: the README's Go packages are installed"
