// SPDX-License-Identifier: Apache-2.0

//go:build !go1.21

package kvsws

// loggerLevel: before Go 1.21 there is no slog to ask, so every line goes to the Logger, which
// filters by its own level.
func loggerLevel(Logger) int { return logDebug }
