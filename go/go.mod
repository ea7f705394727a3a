// SPDX-License-Identifier: Apache-2.0
module github.com/kvsws/kvsws/go

// 1.19 is Debian 12's golang-go; the package uses nothing newer.
go 1.19
