// SPDX-License-Identifier: Apache-2.0

// Command mem measures memory per idle client in Go: N clients kept alive, the process's RSS
// growth (and the Go heap's) per client, after the first client.
//
//	mem -impl kvsws|sdk [-clients N]
package main

import (
	"context"
	"flag"
	"runtime"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	kvsws "github.com/kvsws/kvsws/go"

	"github.com/kvsws/kvsws/bench/go/internal/bench"
)

func main() {
	impl := flag.String("impl", "kvsws", "kvsws or sdk")
	n := flag.Int("clients", 1000, "clients")
	flag.Parse()
	f := bench.Load()
	var make func() interface{}
	name := "kvsws-go"
	switch *impl {
	case "kvsws":
		make = func() interface{} {
			c, err := kvsws.NewClient(kvsws.Config{Region: f.Region, AccessKeyID: f.AccessKeyID,
				SecretAccessKey: f.SecretAccessKey, SessionToken: f.SessionToken})
			if err != nil {
				bench.Die("%v", err)
			}
			return c
		}
	default:
		name = "aws-sdk-go-v2"
		// The config is loaded once and shared, the cheapest way to have many SDK clients.
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(f.Region),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(f.AccessKeyID,
				f.SecretAccessKey, f.SessionToken)))
		if err != nil {
			bench.Die("%v", err)
		}
		make = func() interface{} { return kinesisvideo.NewFromConfig(cfg) }
	}
	keep := []interface{}{make()}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0, rss0 := ms.HeapAlloc, bench.Status("VmRSS")
	for i := 0; i < *n; i++ {
		keep = append(keep, make())
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap1, rss1 := ms.HeapAlloc, bench.Status("VmRSS")
	bench.Emit(map[string]interface{}{"kind": "memory", "impl": name, "what": "idle client", "clients": *n,
		"bytes_per_client":         float64(rss1-rss0) * 1024 / float64(*n),
		"go_heap_bytes_per_client": float64(heap1-heap0) / float64(*n)})
	runtime.KeepAlive(keep)
}
