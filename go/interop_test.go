// SPDX-License-Identifier: Apache-2.0

package kvsws_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go"

	kvsws "github.com/kvsws/kvsws/go"
)

// Code written for aws-sdk-go-v2 finds kvsws's service errors with smithy-go's own interface.
func TestSmithyAPIError(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) { cfg.MaxAttempts = 1 })
	ctx := context.Background()
	in := &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN}

	emu.Must(t).Fault("DescribeSignalingChannel", map[string]any{"error": "ResourceNotFoundException", "message": "gone"})
	_, err := c.DescribeSignalingChannel(ctx, in)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("errors.As(%v, *smithy.APIError) = false", err)
	}
	if apiErr.ErrorCode() != "ResourceNotFoundException" || apiErr.ErrorMessage() != "gone" ||
		apiErr.ErrorFault() != smithy.FaultClient {
		t.Errorf("code %q, message %q, fault %v; want ResourceNotFoundException, gone, client",
			apiErr.ErrorCode(), apiErr.ErrorMessage(), apiErr.ErrorFault())
	}
	if apiErr.ErrorFault().String() != "client" {
		t.Errorf("fault = %q, want client", apiErr.ErrorFault().String())
	}

	emu.Must(t).Fault("DescribeSignalingChannel", map[string]any{"status": 503})
	_, err = c.DescribeSignalingChannel(ctx, in)
	if !errors.As(err, &apiErr) || apiErr.ErrorFault() != smithy.FaultServer {
		t.Errorf("a 503: %v, want a smithy.APIError with FaultServer", err)
	}

	// Errors raised on this side are not API errors, as in aws-sdk-go-v2.
	_, err = c.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelARN: "not-an-arn"})
	if err == nil || errors.As(err, &apiErr) {
		t.Errorf("a validation error: %v, want one that is not a smithy.APIError", err)
	}
}

// A service error keeps its answer's headers, as aws-sdk-go-v2's ResponseError keeps
// Response.Header.
func TestAPIErrorHTTPHeader(t *testing.T) {
	c := newClient(t, func(cfg *kvsws.Config) { cfg.MaxAttempts = 1 })
	emu.Must(t).Fault("DescribeSignalingChannel", map[string]any{"error": "ResourceNotFoundException", "message": "gone"})
	_, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN})
	var notFound *kvsws.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("err = %v, want *ResourceNotFoundException", err)
	}
	h := notFound.HTTPHeader()
	if id := h.Get("X-Amzn-RequestId"); id == "" || id != notFound.RequestID() {
		t.Errorf("x-amzn-requestid header %q, RequestID %q: want the same, not empty", id, notFound.RequestID())
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/") || !strings.HasSuffix(h.Get("Date"), " GMT") {
		t.Errorf("Content-Type %q, Date %q", h.Get("Content-Type"), h.Get("Date"))
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err != nil || n <= 0 {
		t.Errorf("Content-Length %q", h.Get("Content-Length"))
	}
	h.Del("Date") // a copy: the error's own headers stay as they came
	if notFound.HTTPHeader().Get("Date") == "" {
		t.Error("HTTPHeader returned the error's own map, not a copy")
	}
}

// lineLogger is a Logger that is not a *slog.Logger (the four methods are enough, on any Go).
type lineLogger struct {
	mu    sync.Mutex
	lines map[string][]string // by level
}

func (l *lineLogger) add(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines = map[string][]string{}
	}
	l.lines[level] = append(l.lines[level], msg)
}

func (l *lineLogger) Debug(msg string, _ ...any) { l.add("debug", msg) }
func (l *lineLogger) Info(msg string, _ ...any)  { l.add("info", msg) }
func (l *lineLogger) Warn(msg string, _ ...any)  { l.add("warn", msg) }
func (l *lineLogger) Error(msg string, _ ...any) { l.add("error", msg) }

func (l *lineLogger) has(level, substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines[level] {
		if strings.Contains(line, substr) {
			return true
		}
	}
	return false
}

func TestLoggerReceivesCoreLines(t *testing.T) {
	logger := &lineLogger{}
	c := newClient(t, func(cfg *kvsws.Config) { cfg.Logger = logger })
	if _, err := c.DescribeSignalingChannel(context.Background(), &kvsws.DescribeSignalingChannelInput{ChannelARN: demoARN}); err != nil {
		t.Fatal(err)
	}
	if !logger.has("debug", "DescribeSignalingChannel: HTTP 200") || !logger.has("debug", "CanonicalRequest") {
		t.Errorf("debug lines %q: want the call's answer and its canonical request", logger.lines["debug"])
	}
	if logger.has("info", "DescribeSignalingChannel") {
		t.Errorf("a call logged at info: %q", logger.lines["info"])
	}
	if logger.has("debug", emu.SecretAccessKey) {
		t.Error("a secret reached the logger")
	}
}
