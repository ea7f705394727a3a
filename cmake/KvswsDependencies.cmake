# SPDX-License-Identifier: Apache-2.0
# The C core's dependencies. A missing one stops the build with the Debian package that provides it,
# instead of CMake's "Could NOT find ..." or pkg-config's "Package 'libcjson' ... not found".
# The wheel build (scripts/build-wheel.sh) points CURL_DIR at its own minimal static libcurl and sets
# OPENSSL_USE_STATIC_LIBS; these same calls pick them up.

function(kvsws_missing what package)
  message(FATAL_ERROR "${what} not found: install ${package} (Debian/Ubuntu), or tell CMake where it is "
    "with CMAKE_PREFIX_PATH")
endfunction()

find_package(CURL)
if(NOT CURL_FOUND)
  kvsws_missing("libcurl" "libcurl4-openssl-dev")
endif()
find_package(OpenSSL 3)
if(NOT OPENSSL_FOUND)
  kvsws_missing("OpenSSL 3 (libssl, libcrypto)" "libssl-dev")
endif()
find_package(Threads REQUIRED)
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  kvsws_missing("pkg-config" "pkg-config")
endif()
pkg_check_modules(CJSON QUIET IMPORTED_TARGET libcjson)
if(NOT CJSON_FOUND)
  kvsws_missing("libcjson" "libcjson-dev")
endif()
