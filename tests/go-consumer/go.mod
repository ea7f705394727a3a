// SPDX-License-Identifier: Apache-2.0
// A user's module, copied outside the repository by run.sh, which adds kvsws with `go get`.
module example.com/kvsws-consumer

go 1.19
