// SPDX-License-Identifier: Apache-2.0
// The Go module is the whole repository, so that the C core (core/) is inside it and `go get`
// compiles it into the package at go/ (import path github.com/kvsws/kvsws/go). Tags are vX.Y.Z.
module github.com/kvsws/kvsws

// 1.19 is Debian 12's golang-go; the package uses nothing newer.
go 1.19

require github.com/aws/smithy-go v1.19.0
