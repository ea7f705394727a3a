// SPDX-License-Identifier: Apache-2.0

// Command twocgo links kvsws beside othercgo, another cgo package on libcurl and OpenSSL whose C
// code reuses names of the core's static helpers, and uses both: a kvsws call to the emulator
// (AWS_* from the environment), then libcurl, OpenSSL and othercgo's own C functions. It prints
// one line per check and exits 1 at the first that fails.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"example.com/kvsws-consumer/othercgo"
	kvsws "github.com/kvsws/kvsws/go"
)

func check(ok bool, what string, got any) {
	if !ok {
		fmt.Printf("FAIL %s: got %v\n", what, got)
		os.Exit(1)
	}
	fmt.Printf("ok   %s: %v\n", what, got)
}

func main() {
	client, err := kvsws.NewClient(kvsws.Config{})
	check(err == nil, "kvsws.NewClient", err)
	defer client.Close()
	out, err := client.DescribeSignalingChannel(context.Background(),
		&kvsws.DescribeSignalingChannelInput{ChannelName: "demo-channel"})
	check(err == nil, "kvsws DescribeSignalingChannel", err)
	check(strings.HasPrefix(out.ChannelInfo.ChannelARN, "arn:aws:kinesisvideo:"), "its channel ARN",
		out.ChannelInfo.ChannelARN)

	check(strings.Contains(othercgo.CurlVersion(), "OpenSSL"), "othercgo: curl_version", othercgo.CurlVersion())
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	sum := othercgo.SHA256Hex("abc")
	check(sum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "othercgo: OpenSSL SHA-256", sum)
	check(othercgo.NowMs() == 42, "othercgo: its own now_ms", othercgo.NowMs())
	check(othercgo.EqCI("JoinStorageSession", "joinstoragesession"), "othercgo: its own eq_ci", true)
}
