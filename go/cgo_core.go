// SPDX-License-Identifier: Apache-2.0

//go:build !kvsws_system

package kvsws

// By default the package compiles the C core itself, as mattn/go-sqlite3 does with SQLite: `go
// get` plus Debian's libcurl4-openssl-dev, libssl-dev and libcjson-dev is all a program needs
// (no libkvsws, no pkg-config, no rpath). The go/core_*.c files each #include one file of
// ../core/src, so the C sources exist once, in core/, inside this module (go.mod is at the
// repository's root). That rather than a generated amalgamation under go/: no second copy of the
// core to keep in sync and review, and compiler messages point at core/src's own lines. One file
// per core file, not one unity file: the core has static helpers with the same names in several
// files. scripts/go-core-sources.py writes them; CI fails when one is missing, stale or not
// compiled.
//
// The flags are the core's own (CMakeLists.txt) but KVSWS_BUILDING: without it every symbol of
// the core is hidden, so nothing of it can leave a Go binary or shared library and meet a
// libkvsws.so in the same process. The core's global names all start with kvsws_ or kvi_, so
// they cannot clash with another cgo package's C code either.
//
// Build with -tags kvsws_system to link an installed libkvsws through pkg-config instead.

/*
#cgo CFLAGS: -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -fvisibility=hidden -I${SRCDIR}/../core/include -I${SRCDIR}/../core/src
#cgo LDFLAGS: -lcurl -lssl -lcrypto -lcjson -lpthread
*/
import "C"
