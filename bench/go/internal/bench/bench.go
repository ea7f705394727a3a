// SPDX-License-Identifier: Apache-2.0

// Package bench holds what the Go benchmarks share: the fixtures, the timing loop, JSON lines and
// the process's CPU, memory and thread figures.
package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fixtures is bench/fixtures.json: the one request every signer signs.
type Fixtures struct {
	Region          string `json:"region"`
	Service         string `json:"service"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
	Timestamp       int64  `json:"timestamp"`
	ChannelARN      string `json:"channel_arn"`
	Join            struct {
		Method  string      `json:"method"`
		URL     string      `json:"url"`
		Headers [][2]string `json:"headers"`
		Body    string      `json:"body"`
	} `json:"join"`
	WSS struct {
		Method  string `json:"method"`
		URL     string `json:"url"`
		Expires int64  `json:"expires"`
	} `json:"wss"`
}

// FixturesPath is the -fixtures flag (default: bench/fixtures.json beside the module).
var FixturesPath = flag.String("fixtures", filepath.Join("..", "fixtures.json"), "bench/fixtures.json")

// Load reads the fixtures.
func Load() *Fixtures {
	data, err := os.ReadFile(*FixturesPath)
	if err != nil {
		Die("fixtures: %v", err)
	}
	var f Fixtures
	if err := json.Unmarshal(data, &f); err != nil {
		Die("fixtures: %v", err)
	}
	return &f
}

// Time is the fixed signing time.
func (f *Fixtures) Time() time.Time { return time.Unix(f.Timestamp, 0).UTC() }

// Die prints and exits 1.
func Die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// Emit prints one JSON line.
func Emit(fields map[string]interface{}) {
	data, _ := json.Marshal(fields)
	fmt.Println(string(data))
}

// TimeRuns returns ns per call of fn for each run, after a warm-up.
func TimeRuns(fn func(), iterations, runs int) []float64 {
	warm := iterations / 10
	if warm < 100 {
		warm = 100
	}
	for i := 0; i < warm; i++ {
		fn()
	}
	runtime.GC()
	out := make([]float64, 0, runs)
	for r := 0; r < runs; r++ {
		t0 := time.Now()
		for i := 0; i < iterations; i++ {
			fn()
		}
		out = append(out, float64(time.Since(t0).Nanoseconds())/float64(iterations))
	}
	return out
}

var signatureRE = regexp.MustCompile(`(?:Signature=|X-Amz-Signature=)([0-9a-f]{64})`)

// SignatureOf finds the SigV4 signature in an Authorization header or a presigned URL.
func SignatureOf(text string) string {
	m := signatureRE.FindStringSubmatch(text)
	if m == nil {
		Die("no signature in %q", text)
	}
	return m[1]
}

// CPUNanos is the process's user + system CPU time (every thread).
func CPUNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// Status reads a numeric field of /proc/self/status (VmRSS in kB, Threads).
func Status(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line[len(field)+1:])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return -1
}
