// SPDX-License-Identifier: Apache-2.0

// Command startkvsws creates one kvsws client and prints how long that took (ns); the harness
// times the whole process too (exec, the runtime, package init, the client, exit).
package main

import (
	"fmt"
	"os"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

func main() {
	t0 := time.Now()
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2", AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	elapsed := time.Since(t0)
	client.Close()
	fmt.Println(elapsed.Nanoseconds())
}
