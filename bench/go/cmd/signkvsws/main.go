// SPDX-License-Identifier: Apache-2.0

// Command signkvsws times kvsws's Go binding signing the benchmark's request
// (Client.SignRequest, over kvsws_sign_request). It is its own command so that the rest of the Go
// benchmarks build even where the binding has no SignRequest.
package main

import (
	"flag"
	"time"

	kvsws "github.com/kvsws/kvsws/go"

	"github.com/kvsws/kvsws/bench/go/internal/bench"
)

func main() {
	iterations := flag.Int("iterations", 20000, "signatures per run")
	runs := flag.Int("runs", 7, "runs")
	flag.Parse()
	f := bench.Load()
	client, err := kvsws.NewClient(kvsws.Config{Region: f.Region, AccessKeyID: f.AccessKeyID,
		SecretAccessKey: f.SecretAccessKey, SessionToken: f.SessionToken})
	if err != nil {
		bench.Die("%v", err)
	}
	defer client.Close()
	at := f.Time()
	body := []byte(f.Join.Body)
	headers := make([]string, 0, len(f.Join.Headers))
	for _, h := range f.Join.Headers {
		headers = append(headers, h[0]+": "+h[1])
	}
	expires := time.Duration(f.WSS.Expires) * time.Second

	header := func() string {
		out, err := client.SignRequest(f.Service, f.Join.Method, f.Join.URL, headers, body, 0, at)
		if err != nil {
			bench.Die("%v", err)
		}
		return out
	}
	presign := func() string {
		out, err := client.SignRequest(f.Service, f.WSS.Method, f.WSS.URL, nil, nil, expires, at)
		if err != nil {
			bench.Die("%v", err)
		}
		return out
	}
	for _, c := range []struct {
		op string
		fn func() string
	}{{"header", header}, {"presign", presign}} {
		sig := bench.SignatureOf(c.fn())
		bench.Emit(map[string]interface{}{"kind": "sign", "impl": "kvsws-go", "op": c.op, "iterations": *iterations,
			"runs_ns": bench.TimeRuns(func() { c.fn() }, *iterations, *runs), "signature": sig})
	}
}
