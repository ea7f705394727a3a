#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libcurl the wheel links: Debian's own curl source package (the release Debian ships, with
# all of Debian's security patches), configured for what kvsws needs and nothing else: HTTP(S) and
# HTTP proxies on OpenSSL. No LDAP, Kerberos, RTMP, SSH, IDN, PSL, brotli, zstd, zlib, nghttp2: none
# of their libraries end up in the wheel. A static, position-independent archive, installed with
# its CMake package (CURLConfig.cmake) under DIR/<version>/prefix; prints that prefix.
#
#   scripts/minimal-curl.sh DIR
#
# The source comes through apt with a private list of deb-src entries under DIR (the machine's own
# apt sources are left alone, no root needed): apt checks it against Debian's signed index and
# dpkg-source applies Debian's patches. A version already built is reused (~1 min to build anew).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mkdir -p "$1" && cd "$1" && pwd)
apt_dir=$dir/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"

. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release: needs Debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt_dir/sources.list" <<EOF
deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename main
deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename-updates main
deb-src [signed-by=$keyring] http://deb.debian.org/debian-security $codename-security main
EOF
apt_private=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update -qq >&2

# The newest curl source in the release (security updates included), e.g. curl_7.88.1-10+deb12u15.dsc.
dsc=$(apt-get "${apt_private[@]}" source --print-uris curl 2>/dev/null | awk '$2 ~ /^curl_.*\.dsc$/ {print $2; exit}')
version=${dsc#curl_}
version=${version%.dsc}
[ -n "$version" ] || { echo "minimal-curl: no curl source package found in $apt_dir/sources.list" >&2; exit 1; }
prefix=$dir/$version/prefix
if [ -f "$prefix/.built" ]; then
  echo "minimal-curl: curl $version already built in $prefix" >&2
  echo "$prefix"
  exit 0
fi

start=$(date +%s)
rm -rf "$dir/$version"
mkdir -p "$dir/$version"
log=$dir/$version/build.log
quietly() { "$@" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "minimal-curl: failed: $*" >&2; exit 1; }; }
(cd "$dir/$version" && quietly apt-get "${apt_private[@]}" source --download-only "curl=$version" &&
  quietly dpkg-source -x "$dsc" src)

# HTTP_ONLY leaves HTTP and HTTPS; the rest turns off every optional library curl would look for.
quietly cmake -S "$dir/$version/src" -B "$dir/$version/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_CURL_EXE=OFF \
  -DBUILD_TESTING=OFF -DENABLE_MANUAL=OFF -DCMAKE_C_FLAGS="-ffunction-sections -fdata-sections" \
  -DHTTP_ONLY=ON -DCURL_DISABLE_LDAP=ON -DCURL_DISABLE_LDAPS=ON -DCURL_DISABLE_ALTSVC=ON \
  -DCURL_USE_OPENSSL=ON -DOPENSSL_USE_STATIC_LIBS=ON -DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBSSH=OFF \
  -DCURL_USE_GSSAPI=OFF -DCURL_USE_LIBPSL=OFF -DUSE_LIBIDN2=OFF -DUSE_NGHTTP2=OFF -DCURL_ZLIB=OFF \
  -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DENABLE_ARES=OFF \
  -DCURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -DCURL_CA_PATH=/etc/ssl/certs
quietly cmake --build "$dir/$version/build" -j "$(nproc)"
quietly cmake --install "$dir/$version/build"
touch "$prefix/.built"
echo "minimal-curl: built curl $version in $(( $(date +%s) - start )) s into $prefix" >&2
echo "$prefix"
