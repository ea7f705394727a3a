# SPDX-License-Identifier: Apache-2.0
# 64-bit ARM Linux (Debian arm64): cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, the -dev packages as :arm64 and, to run the
# tests, qemu-user (see the README's "Cross-compiling" and scripts/cross-test.sh).
set(KVSWS_CROSS_TRIPLET aarch64-linux-gnu)
set(KVSWS_CROSS_PROCESSOR aarch64)
set(KVSWS_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
