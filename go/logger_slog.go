// SPDX-License-Identifier: Apache-2.0

//go:build go1.21

package kvsws

import (
	"context"
	"log/slog"
)

// loggerLevel is the most detailed core level the Logger lets through right now, when it can
// say (a *slog.Logger, or anything with slog's Enabled); else every line goes to it.
func loggerLevel(l Logger) int {
	e, ok := l.(interface {
		Enabled(context.Context, slog.Level) bool
	})
	if !ok {
		return logDebug
	}
	ctx := context.Background()
	for _, c := range [...]struct {
		slog slog.Level
		core int
	}{{slog.LevelDebug, logDebug}, {slog.LevelInfo, logInfo}, {slog.LevelWarn, logWarn}, {slog.LevelError, logError}} {
		if e.Enabled(ctx, c.slog) {
			return c.core
		}
	}
	return logOff
}
