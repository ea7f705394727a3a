// SPDX-License-Identifier: Apache-2.0

// Command calls times round trips against the local nginx, keep-alive, one goroutine:
// kvsws's Go binding (JoinStorageSession, DescribeMediaStorageConfiguration) and aws-sdk-go-v2
// (kinesisvideo.DescribeMediaStorageConfiguration; its kinesisvideowebrtcstorage module, the one
// with JoinStorageSession, could not be fetched here: see bench/README.md).
//
//	calls -impl kvsws|sdk -op join|describe -endpoint URL -ca PEM [-calls N] [-runs R]
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvsws "github.com/kvsws/kvsws/go"

	"github.com/kvsws/kvsws/bench/go/internal/bench"
)

func main() {
	impl := flag.String("impl", "kvsws", "kvsws or sdk")
	op := flag.String("op", "join", "join or describe")
	endpoint := flag.String("endpoint", "", "https://127.0.0.1:PORT")
	ca := flag.String("ca", "", "CA bundle")
	calls := flag.Int("calls", 2000, "calls per run")
	runs := flag.Int("runs", 5, "runs")
	warmup := flag.Int("warmup", 200, "calls before timing")
	flag.Parse()
	f := bench.Load()
	ctx := context.Background()
	var call func()
	name := "kvsws-go"
	switch *impl {
	case "kvsws":
		client, err := kvsws.NewClient(kvsws.Config{Region: f.Region, EndpointURL: *endpoint, CABundle: *ca,
			AccessKeyID: f.AccessKeyID, SecretAccessKey: f.SecretAccessKey, SessionToken: f.SessionToken})
		if err != nil {
			bench.Die("%v", err)
		}
		defer client.Close()
		if *op == "join" {
			in := &kvsws.JoinStorageSessionInput{ChannelARN: f.ChannelARN}
			call = func() {
				if _, err := client.JoinStorageSession(ctx, in); err != nil {
					bench.Die("%v", err)
				}
			}
		} else {
			in := &kvsws.DescribeMediaStorageConfigurationInput{ChannelARN: f.ChannelARN}
			call = func() {
				if _, err := client.DescribeMediaStorageConfiguration(ctx, in); err != nil {
					bench.Die("%v", err)
				}
			}
		}
	case "sdk":
		name = "aws-sdk-go-v2"
		if *op != "describe" {
			bench.Die("aws-sdk-go-v2: only -op describe (kinesisvideowebrtcstorage is not available)")
		}
		pem, err := os.ReadFile(*ca)
		if err != nil {
			bench.Die("%v", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		})
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(f.Region), config.WithHTTPClient(httpClient),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(f.AccessKeyID, f.SecretAccessKey, f.SessionToken)))
		if err != nil {
			bench.Die("%v", err)
		}
		client := kinesisvideo.NewFromConfig(cfg, func(o *kinesisvideo.Options) { o.BaseEndpoint = aws.String(*endpoint) })
		in := &kinesisvideo.DescribeMediaStorageConfigurationInput{ChannelARN: aws.String(f.ChannelARN)}
		call = func() {
			out, err := client.DescribeMediaStorageConfiguration(ctx, in)
			if err != nil {
				bench.Die("%v", err)
			}
			if out.MediaStorageConfiguration == nil {
				bench.Die("no MediaStorageConfiguration")
			}
		}
	default:
		bench.Die("unknown -impl %s", *impl)
	}
	for i := 0; i < *warmup; i++ {
		call()
	}
	var p50, p99, cpu, wall []float64
	lat := make([]float64, *calls)
	for r := 0; r < *runs; r++ {
		c0, w0 := bench.CPUNanos(), time.Now()
		for i := range lat {
			t0 := time.Now()
			call()
			lat[i] = float64(time.Since(t0).Nanoseconds())
		}
		wall = append(wall, float64(time.Since(w0).Nanoseconds())/float64(*calls))
		cpu = append(cpu, float64(bench.CPUNanos()-c0)/float64(*calls))
		sort.Float64s(lat)
		p50 = append(p50, lat[len(lat)/2])
		p99 = append(p99, lat[int(float64(len(lat)-1)*0.99+0.5)])
	}
	bench.Emit(map[string]interface{}{"kind": "calls", "impl": name, "op": *op, "calls": *calls,
		"p50_ns": p50, "p99_ns": p99, "cpu_ns": cpu, "wall_ns": wall, "threads": bench.Status("Threads")})
}
