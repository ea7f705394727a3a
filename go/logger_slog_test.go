// SPDX-License-Identifier: Apache-2.0

//go:build go1.21

package kvsws_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

// recorder is a slog.Handler that keeps its records; its level can change at run time.
type recorder struct {
	level   *slog.LevelVar
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level.Level() }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// take returns the records so far and forgets them.
func (r *recorder) take() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.records
	r.records = nil
	return out
}

func find(records []slog.Record, level slog.Level, substr string) bool {
	for _, rec := range records {
		if rec.Level == level && strings.Contains(rec.Message, substr) {
			return true
		}
	}
	return false
}

func TestSlogLogger(t *testing.T) {
	rec := &recorder{level: new(slog.LevelVar)}
	rec.level.Set(slog.LevelWarn)
	c := newClient(t, func(cfg *kvsws.Config) { cfg.Logger = slog.New(rec) })
	ctx := context.Background()
	in := &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN}

	if _, err := c.DescribeSignalingChannel(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("at Warn a call logged %d records: %v", len(got), got)
	}

	rec.level.Set(slog.LevelDebug) // raised after the client exists: the next call follows it
	if _, err := c.DescribeSignalingChannel(ctx, in); err != nil {
		t.Fatal(err)
	}
	got := rec.take()
	if !find(got, slog.LevelDebug, "DescribeSignalingChannel: HTTP 200") || !find(got, slog.LevelDebug, "CanonicalRequest") {
		t.Errorf("at Debug: %v, want the call's answer and canonical request at Debug", got)
	}

	// A storage session on a channel that does not exist: its state changes at Info, its end on
	// an error at Error, both from the core's worker threads.
	s, err := c.NewStorageSession(ctx, &kvsws.StorageSessionInput{ChannelName: "nowhere"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	timeout := time.After(30 * time.Second)
	for closed := false; !closed; {
		select {
		case ev, ok := <-s.Events():
			closed = !ok || ev.Type == kvsws.EventClosed
		case <-timeout:
			t.Fatal("the session did not close")
		}
	}
	got = rec.take()
	if !find(got, slog.LevelInfo, ": connecting") || !find(got, slog.LevelError, "ResourceNotFoundException") {
		t.Errorf("session records %v: want connecting at Info and the ResourceNotFoundException at Error", got)
	}
}
