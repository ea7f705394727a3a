// SPDX-License-Identifier: Apache-2.0

package kvsws

// UsesNetpoller reports whether the session's events goroutine has waited in Go's netpoller.
func UsesNetpoller(s *StorageSession) bool { return s.netpoll.Load() }

// SetNetpoller turns the netpoller off (sessions then wait in C) or back on, for new sessions.
func SetNetpoller(on bool) { noNetpoll.Store(!on) }
