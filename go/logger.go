// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"runtime/cgo"
	"sync/atomic"
)

// Logger receives the core's log lines (never a secret): a *slog.Logger fits as it is
// (Config{Logger: slog.Default()}), and so does any type with these four methods, on Go 1.19
// too. Lines arrive at matching levels: Debug for each call's answer, retries and the signing
// steps (quiet at Info, as aws-sdk-go-v2); Info for a storage session's state changes; Warn for
// recoveries (clock skew corrected, a reconnect, a refused signaling message); Error for a
// session that ended on an error. The message is the line; no attributes are added.
//
// The methods are called on the thread that does the work (a call's goroutine, or one of the
// core's session workers), possibly at the same time: they must be safe for concurrent use and
// must not call back into kvsws.
type Logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// Core log levels (kvsws_log_level); the numbers are the header's, checked in cgo_log.go.
const (
	logOff   = 0
	logError = 1
	logWarn  = 2
	logInfo  = 3
	logDebug = 4
)

// clientLog is a Client's Logger as the core sees it: a cgo.Handle passed as the log function's
// userdata, and the level last given to the core.
type clientLog struct {
	logger Logger
	handle cgo.Handle
	level  atomic.Int32
}

// newClientLog returns nil for a nil Logger (the core then logs by KVSWS_LOG_LEVEL, to stderr).
func newClientLog(l Logger) *clientLog {
	if l == nil {
		return nil
	}
	cl := &clientLog{logger: l}
	cl.handle = cgo.NewHandle(cl)
	cl.level.Store(int32(loggerLevel(l)))
	return cl
}

// follow gives the core the Logger's level when it changed since the last call (a
// *slog.Logger whose handler's level was raised, on Go 1.21 and newer), so that a level raised
// at run time takes effect at once without the core formatting lines nobody wants.
func (cl *clientLog) follow(p *cClient) {
	if cl == nil || p == nil {
		return
	}
	level := int32(loggerLevel(cl.logger))
	if cl.level.Swap(level) != level {
		cSetLogLevel(p, int(level))
	}
}

func (cl *clientLog) free() {
	if cl != nil {
		cl.handle.Delete()
	}
}

// deliver hands one core line to the Logger.
func (cl *clientLog) deliver(level int, line string) {
	switch level {
	case logError:
		cl.logger.Error(line)
	case logWarn:
		cl.logger.Warn(line)
	case logInfo:
		cl.logger.Info(line)
	default:
		cl.logger.Debug(line)
	}
}
