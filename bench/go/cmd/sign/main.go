// SPDX-License-Identifier: Apache-2.0

// Command sign times aws-sdk-go-v2's v4 signer (SignHTTP, PresignHTTP) on the benchmark's request.
// Each signature starts from the request's parts, as a program signing a request would: it builds
// the *http.Request and hashes the body (the SDK's middleware does both for SignHTTP).
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/kvsws/kvsws/bench/go/internal/bench"
)

func main() {
	iterations := flag.Int("iterations", 20000, "signatures per run")
	runs := flag.Int("runs", 7, "runs")
	flag.Parse()
	f := bench.Load()
	ctx := context.Background()
	creds := aws.Credentials{AccessKeyID: f.AccessKeyID, SecretAccessKey: f.SecretAccessKey, SessionToken: f.SessionToken}
	signer := v4.NewSigner()
	at := f.Time()
	body := []byte(f.Join.Body)
	emptyHash := hex.EncodeToString(func() []byte { h := sha256.Sum256(nil); return h[:] }())

	header := func() string {
		req, err := http.NewRequest(f.Join.Method, f.Join.URL, bytes.NewReader(body))
		if err != nil {
			bench.Die("%v", err)
		}
		for _, h := range f.Join.Headers {
			if http.CanonicalHeaderKey(h[0]) != "Content-Length" { // Go carries it as req.ContentLength
				req.Header.Set(h[0], h[1])
			}
		}
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), f.Service, f.Region, at); err != nil {
			bench.Die("%v", err)
		}
		return req.Header.Get("Authorization")
	}
	presignURL := f.WSS.URL + "&X-Amz-Expires=" + itoa(f.WSS.Expires)
	presign := func() string {
		req, err := http.NewRequest(f.WSS.Method, presignURL, nil)
		if err != nil {
			bench.Die("%v", err)
		}
		url, _, err := signer.PresignHTTP(ctx, creds, req, emptyHash, f.Service, f.Region, at)
		if err != nil {
			bench.Die("%v", err)
		}
		return url
	}
	for _, c := range []struct {
		op string
		fn func() string
	}{{"header", header}, {"presign", presign}} {
		sig := bench.SignatureOf(c.fn())
		bench.Emit(map[string]interface{}{"kind": "sign", "impl": "aws-sdk-go-v2", "op": c.op, "iterations": *iterations,
			"runs_ns": bench.TimeRuns(func() { c.fn() }, *iterations, *runs), "signature": sig})
	}
}

func itoa(v int64) string {
	b := []byte{}
	if v == 0 {
		return "0"
	}
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}
