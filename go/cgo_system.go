// SPDX-License-Identifier: Apache-2.0

//go:build kvsws_system

package kvsws

// With -tags kvsws_system the package links the libkvsws installed on the system (for
// distributions that package the C library once), found through pkg-config (kvsws.pc), instead
// of compiling the core (cgo_core.go).

// #cgo pkg-config: kvsws
import "C"
