/* SPDX-License-Identifier: Apache-2.0 */
//go:build !kvsws_system

/* Written by scripts/go-core-sources.py: the Go package compiles core/src/base/file.c (go/cgo_core.go). */
#include "../core/src/base/file.c"
