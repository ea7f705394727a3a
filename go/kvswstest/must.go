// SPDX-License-Identifier: Apache-2.0

package kvswstest

import (
	"testing"
	"time"
)

// Checked is the emulator's admin calls for one test: the same as the Emulator's, but an error
// fails the test (t.Fatal) instead of being returned. Emulator.Must makes one.
type Checked struct {
	e *Emulator
	t testing.TB
}

// Must binds the emulator's admin calls to a test: emu.Must(t).Calls("JoinStorageSession").
func (e *Emulator) Must(t testing.TB) *Checked { return &Checked{e, t} }

// must returns a function that fails t if err is not nil and returns v otherwise; it takes the
// two results of a call as they come: must(c.e.Calls(op))(c.t).
func must[V any](v V, err error) func(testing.TB) V {
	return func(t testing.TB) V {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (c *Checked) check(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// Reset clears the faults, the call counts and the recorded requests, now and again when the test
// ends (so that what one test queued never reaches the next).
func (c *Checked) Reset() {
	c.t.Helper()
	c.check(c.e.Reset())
	c.t.Cleanup(func() { c.check(c.e.Reset()) })
}

// Admin is Emulator.Admin.
func (c *Checked) Admin(method, path string, body, out any) {
	c.t.Helper()
	c.check(c.e.Admin(method, path, body, out))
}

// AddChannel is Emulator.AddChannel.
func (c *Checked) AddChannel(name string, storage bool) string {
	c.t.Helper()
	return must(c.e.AddChannel(name, storage))(c.t)
}

// AddCredentials is Emulator.AddCredentials.
func (c *Checked) AddCredentials(accessKeyID, secretAccessKey, sessionToken string) {
	c.t.Helper()
	c.check(c.e.AddCredentials(accessKeyID, secretAccessKey, sessionToken))
}

// Fault is Emulator.Fault.
func (c *Checked) Fault(operation string, spec map[string]any) {
	c.t.Helper()
	c.check(c.e.Fault(operation, spec))
}

// Signal is Emulator.Signal.
func (c *Checked) Signal(channel, action string) {
	c.t.Helper()
	c.check(c.e.Signal(channel, action))
}

// State is Emulator.State.
func (c *Checked) State() State {
	c.t.Helper()
	return must(c.e.State())(c.t)
}

// Calls is Emulator.Calls.
func (c *Checked) Calls(operation string) int {
	c.t.Helper()
	return must(c.e.Calls(operation))(c.t)
}

// Sessions is Emulator.Sessions.
func (c *Checked) Sessions(channel string) []Session {
	c.t.Helper()
	return must(c.e.Sessions(channel))(c.t)
}

// Connections is Emulator.Connections.
func (c *Checked) Connections(channel string) []map[string]any {
	c.t.Helper()
	return must(c.e.Connections(channel))(c.t)
}

// WaitForSession is Emulator.WaitForSession.
func (c *Checked) WaitForSession(channel string, n int, ok func(Session) bool, timeout time.Duration) Session {
	c.t.Helper()
	return must(c.e.WaitForSession(channel, n, ok, timeout))(c.t)
}

// WaitForMedia is Emulator.WaitForMedia.
func (c *Checked) WaitForMedia(channel string, n, frames int, timeout time.Duration) Session {
	c.t.Helper()
	return must(c.e.WaitForMedia(channel, n, frames, timeout))(c.t)
}
