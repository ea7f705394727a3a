# SPDX-License-Identifier: Apache-2.0
# How the library is optimized in the release build types (Release, RelWithDebInfo, MinSizeRel):
# small where it is cold, fast where it is hot, and libkvsws.so linked with LTO. Debug and build
# types CMake does not know (a packager's "None" with its own flags) keep exactly their flags.
# Measured on amd64 (stripped libkvsws.so, Release, gcc 12): 265.9 kB with -O3 everywhere, 182.3 kB
# with all of this (202.9 kB with unwind tables, once the AWS IoT provider was in); each lever's share is in bench/README.md.
include(CheckCCompilerFlag)
include(CheckCSourceCompiles)
include(CheckIPOSupported)

option(KVSWS_OPTIMIZE_SIZE "Release build types: -Os on cold sources, -O2 on the signer, unused \
sections dropped, packed relocations, no PLT, one code mapping" ON)
option(KVSWS_UNWIND_TABLES "Release and MinSizeRel: keep asynchronous unwind tables (.eh_frame) \
in libkvsws.so, for unwinding through it without debug information" OFF)
option(KVSWS_LTO "Release build types: link-time optimization of libkvsws.so (its own objects; \
libkvsws.a stays plain for any linker)" ON)

# The signer runs per request and per presign at a speed the bench holds to the OpenSSL floor;
# everything else runs once per call, client, frame or credential refresh, where libcurl and OpenSSL
# dominate, and is compiled for size (the signer at -Os too: 8 kB smaller, a quarter slower). A name
# matches by its start, so a file split out of sigv4.c stays hot. kvsws_sign_request's file is hot
# too: at -Os its URL and header copies made the public signer 4-6 % slower, for 0.7 kB of code
# (which happened to cross a 4 KiB step of the stripped library: 186,400 -> 190,496 bytes).
set(KVSWS_HOT_SOURCES_REGEX "^(sigv4[._]|sign_api[.])")

set(_kvsws_release "$<OR:$<CONFIG:Release>,$<CONFIG:RelWithDebInfo>,$<CONFIG:MinSizeRel>>")
set(_kvsws_fast "$<OR:$<CONFIG:Release>,$<CONFIG:RelWithDebInfo>>")
set(_kvsws_lean "$<OR:$<CONFIG:Release>,$<CONFIG:MinSizeRel>>")

# kvsws_check_linker_flag(FLAG VAR): VAR is true when a shared library links with FLAG, silently.
function(kvsws_check_linker_flag flag var)
  set(CMAKE_REQUIRED_LINK_OPTIONS ${flag} -shared)
  set(CMAKE_REQUIRED_QUIET ON)
  check_c_source_compiles("int kvsws_probe(void) { return 0; }" ${var}
    FAIL_REGEX "ignored" "unknown" "unrecognized" "warning")
endfunction()

if(KVSWS_OPTIMIZE_SIZE)
  check_c_compiler_flag(-fno-plt KVSWS_HAVE_NO_PLT)
  # DT_RELR (binutils 2.38, glibc 2.36): 8 bytes instead of 24 per pointer in a table. A linker
  # that does not pack for this target only warns: that counts as no.
  kvsws_check_linker_flag("-Wl,-z,pack-relative-relocs" KVSWS_HAVE_PACKED_RELOCS)
  # One read-only+code mapping instead of three page-aligned ones (binutils' layout before 2.31):
  # up to two pages of padding less, at the price of headers and constants being executable.
  kvsws_check_linker_flag("-Wl,-z,noseparate-code" KVSWS_HAVE_NOSEPARATE_CODE)
endif()

# kvsws_optimize_sources(TARGET): per-source optimization levels, one section per function.
function(kvsws_optimize_sources target)
  if(NOT KVSWS_OPTIMIZE_SIZE)
    return()
  endif()
  get_target_property(sources ${target} SOURCES)
  foreach(src ${sources})
    # Source properties belong to the file, not the target: set them once.
    get_property(done SOURCE ${src} TARGET_DIRECTORY ${target} PROPERTY KVSWS_OPTIMIZED SET)
    if(done)
      continue()
    endif()
    set_property(SOURCE ${src} TARGET_DIRECTORY ${target} PROPERTY KVSWS_OPTIMIZED ON)
    get_filename_component(name ${src} NAME)
    if(name MATCHES "${KVSWS_HOT_SOURCES_REGEX}")
      set_property(SOURCE ${src} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS
        $<${_kvsws_fast}:-O2>)
    else()
      set_property(SOURCE ${src} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS
        $<${_kvsws_fast}:-Os>)
    endif()
  endforeach()
  target_compile_options(${target} PRIVATE
    $<${_kvsws_release}:-ffunction-sections -fdata-sections>)
  if(NOT KVSWS_UNWIND_TABLES)
    # 20 kB of the stripped library (a tenth). The core is C: nothing throws through it, and it is
    # no place for pthread_cancel (it holds locks); debuggers read .debug_frame, which -g still
    # writes (RelWithDebInfo keeps .eh_frame too, for perf --call-graph=dwarf).
    target_compile_options(${target} PRIVATE $<${_kvsws_lean}:-fno-asynchronous-unwind-tables>)
  endif()
  if(KVSWS_HAVE_NO_PLT)
    # Calls into libcurl, OpenSSL and libc go through the GOT directly: no 16-byte PLT stub each.
    target_compile_options(${target} PRIVATE $<${_kvsws_release}:-fno-plt>)
  endif()
endfunction()

# kvsws_optimize_link(TARGET): drop unreferenced sections, pack the relative relocations.
function(kvsws_optimize_link target)
  if(NOT KVSWS_OPTIMIZE_SIZE)
    return()
  endif()
  target_link_options(${target} PRIVATE $<${_kvsws_release}:LINKER:--gc-sections>)
  if(KVSWS_HAVE_PACKED_RELOCS)
    target_link_options(${target} PRIVATE $<${_kvsws_release}:LINKER:-z,pack-relative-relocs>)
  endif()
  if(KVSWS_HAVE_NOSEPARATE_CODE)
    target_link_options(${target} PRIVATE $<${_kvsws_release}:LINKER:-z,noseparate-code>)
  endif()
endfunction()

# kvsws_lto_wanted(OUT): whether libkvsws.so gets link-time optimization in this build.
function(kvsws_lto_wanted out)
  set(${out} OFF PARENT_SCOPE)
  get_property(multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(NOT KVSWS_LTO OR multi_config OR NOT CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$"
     OR KVSWS_SANITIZE OR KVSWS_BUILD_FUZZ)
    return()
  endif()
  check_ipo_supported(RESULT supported OUTPUT why LANGUAGES C)
  if(NOT supported)
    message(STATUS "kvsws: no link-time optimization with this compiler and linker")
    return()
  endif()
  set(${out} ON PARENT_SCOPE)
endfunction()
