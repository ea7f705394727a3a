# SPDX-License-Identifier: Apache-2.0
# 32-bit ARM Linux, hard float (Debian armhf: ARMv7-A with VFPv3-D16, Thumb-2):
# cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
# Needs gcc-arm-linux-gnueabihf, libc6-dev-armhf-cross, the -dev packages as :armhf and, to run
# the tests, qemu-user (see the README's "Cross-compiling" and scripts/cross-test.sh).
set(KVSWS_CROSS_TRIPLET arm-linux-gnueabihf)
set(KVSWS_CROSS_PROCESSOR arm)
set(KVSWS_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
