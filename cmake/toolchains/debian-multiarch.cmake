# SPDX-License-Identifier: Apache-2.0
# Cross-compiling with Debian's cross gcc and the target's libraries from Debian multiarch
# (dpkg --add-architecture). Included by aarch64-linux-gnu.cmake and arm-linux-gnueabihf.cmake,
# which set KVSWS_CROSS_TRIPLET, KVSWS_CROSS_PROCESSOR and KVSWS_CROSS_QEMU first.
#
# Libraries, headers and .pc files come only from the target's directories: /usr/lib/TRIPLET
# and /usr/include/TRIPLET on Debian, or the same under -DCMAKE_SYSROOT=DIR (a Debian-like root
# made by debootstrap, or a Yocto/Buildroot sysroot with its libraries in usr/lib).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${KVSWS_CROSS_PROCESSOR})
# -DCMAKE_C_COMPILER=... (an SDK's compiler) wins over Debian's cross gcc.
if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${KVSWS_CROSS_TRIPLET}-gcc)
endif()
# find_library looks in lib/TRIPLET first; GNUInstallDirs installs into lib/TRIPLET under /usr.
set(CMAKE_LIBRARY_ARCHITECTURE ${KVSWS_CROSS_TRIPLET})

if(CMAKE_SYSROOT)
  set(_kvsws_target_root ${CMAKE_SYSROOT})
else()
  set(_kvsws_target_root /)
endif()
# Headers, libraries and CMake packages of the target only; programs (pkg-config, swig) of the host.
set(CMAKE_FIND_ROOT_PATH ${_kvsws_target_root})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads the target's .pc files only (it would otherwise hand out the host's x86 -I/-L).
string(REGEX REPLACE "/$" "" _kvsws_root_prefix "${_kvsws_target_root}")
set(ENV{PKG_CONFIG_LIBDIR}
  "${_kvsws_root_prefix}/usr/lib/${KVSWS_CROSS_TRIPLET}/pkgconfig:${_kvsws_root_prefix}/usr/lib/pkgconfig:${_kvsws_root_prefix}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
if(CMAKE_SYSROOT)
  # .pc files in a sysroot name /usr/...: pkg-config prefixes the sysroot to their -I and -L.
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${CMAKE_SYSROOT})
endif()

# ctest (and add_test commands that name a target) run the target's programs under qemu-user;
# -L is where qemu finds the target's dynamic loader and libraries.
find_program(KVSWS_CROSS_QEMU_PROGRAM ${KVSWS_CROSS_QEMU})
if(KVSWS_CROSS_QEMU_PROGRAM)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${KVSWS_CROSS_QEMU_PROGRAM} -L ${_kvsws_target_root})
endif()
