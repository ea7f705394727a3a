// SPDX-License-Identifier: Apache-2.0

// Command startsdk loads the aws-sdk-go-v2 config and creates a kinesisvideo client, and prints how
// long that took (ns); the harness times the whole process too.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
)

func main() {
	t0 := time.Now()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-west-2"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE",
			"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client := kinesisvideo.NewFromConfig(cfg)
	elapsed := time.Since(t0)
	_ = client
	fmt.Println(elapsed.Nanoseconds())
}
