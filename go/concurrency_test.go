// SPDX-License-Identifier: Apache-2.0

package kvsws_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

func describeDemo(ctx context.Context, c *kvsws.Client) error {
	_, err := c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	return err
}

func TestCancelMidCall(t *testing.T) {
	c := newClient(t)
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"delay_ms": 5000})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err := describeDemo(ctx, c)
	elapsed := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one that wraps context.Canceled", err)
	}
	var ce *kvsws.CanceledError
	var opErr *kvsws.OperationError
	if !errors.As(err, &ce) || !errors.As(err, &opErr) || kvsws.StatusOf(err) != kvsws.StatusCancelled || ce.Attempts() != 1 {
		t.Errorf("err = %#v", err)
	}
	if want := "operation error Kinesis Video: DescribeSignalingChannel, request canceled, context canceled"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if elapsed < 150*time.Millisecond || elapsed > time.Second {
		t.Errorf("the call returned after %v; want soon after the cancel at 200 ms", elapsed)
	}
	if n := emu.Must(t).Calls("DescribeSignalingChannel"); n != 1 {
		t.Errorf("the emulator saw %d calls, want 1 (the cancelled one)", n)
	}
	// The client is fine afterwards.
	if err := describeDemo(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func TestDeadline(t *testing.T) {
	c := newClient(t)
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"delay_ms": 5000})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := describeDemo(ctx, c)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("the call returned after %v with a 200 ms deadline", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one that wraps context.DeadlineExceeded", err)
	}
}

func TestCancelDuringRetryBackoff(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) {
		cfg.RetryBaseDelay = 20 * time.Second // each backoff: uniform in 0..20 s
		cfg.MaxAttempts = 20                  // so the retries cannot all fit in 300 ms
	})
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"status": 503, "count": 20})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := describeDemo(ctx, c)
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("the call returned after %v", elapsed)
	}
	// Either the backoff was cancelled, or (when the jittered backoff was shorter than the
	// deadline) a retry was; both wrap the context's error.
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestAlreadyCancelledContextSendsNothing(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := describeDemo(ctx, c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n := emu.Must(t).Calls(""); n != 0 {
		t.Errorf("the emulator got %d requests", n)
	}
}

func TestManyGoroutinesShareOneClient(t *testing.T) {
	const goroutines, rounds = 100, 3
	c := newClient(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds*3)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				var err error
				switch (g + i) % 3 {
				case 0:
					var out *kvsws.DescribeSignalingChannelOutput
					out, err = c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
					if err == nil && out.ChannelInfo.ChannelName != "demo-channel" {
						err = fmt.Errorf("got %+v", out.ChannelInfo)
					}
				case 1:
					var out *kvsws.GetIceServerConfigOutput
					out, err = c.GetIceServerConfig(ctx, &kvsws.GetIceServerConfigInput{ChannelARN: demoARN, ClientID: fmt.Sprintf("g%d", g)})
					if err == nil && len(out.IceServerList) == 0 {
						err = fmt.Errorf("no ICE servers")
					}
				case 2:
					_, err = c.JoinStorageSessionAsViewer(ctx, &kvsws.JoinStorageSessionAsViewerInput{ChannelARN: demoARN, ClientID: fmt.Sprintf("viewer-%d", g)})
				}
				if err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := emu.Must(t).State()
	per := goroutines * rounds / 3
	for _, op := range []string{"DescribeSignalingChannel", "GetIceServerConfig", "JoinStorageSessionAsViewer"} {
		if s.Calls[op] != per {
			t.Errorf("%s: the emulator saw %d calls, want %d", op, s.Calls[op], per)
		}
	}
	// Endpoint discovery: once per (channel, role) unless goroutines raced for the first one.
	if n := s.Calls["GetSignalingChannelEndpoint"]; n < 1 || n > 2*goroutines {
		t.Errorf("GetSignalingChannelEndpoint calls = %d", n)
	}
}

func TestCloseCancelsCallsInFlight(t *testing.T) {
	emu.Must(t).Reset()
	c, err := kvsws.NewClient(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]interface{}{"delay_ms": 5000})
	result := make(chan error, 1)
	start := time.Now()
	go func() { result <- describeDemo(context.Background(), c) }()
	time.Sleep(200 * time.Millisecond)

	var wg sync.WaitGroup
	for i := 0; i < 3; i++ { // concurrent Close calls are fine
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	err = <-result
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("the call in flight returned after %v", elapsed)
	}
	if !errors.Is(err, kvsws.ErrClientClosed) {
		t.Fatalf("call in flight: err = %v, want ErrClientClosed", err)
	}
	if err := describeDemo(context.Background(), c); !errors.Is(err, kvsws.ErrClientClosed) {
		t.Fatalf("call after Close: err = %v, want ErrClientClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCallsRacingClose(t *testing.T) {
	emu.Must(t).Reset()
	c, err := kvsws.NewClient(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				err := describeDemo(context.Background(), c)
				if err != nil && !errors.Is(err, kvsws.ErrClientClosed) {
					t.Error(err)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	c.Close()
	wg.Wait()
}
