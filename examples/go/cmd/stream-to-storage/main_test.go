// SPDX-License-Identifier: Apache-2.0

package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"--channel-name", "demo-channel", "--video", "v.h264", "--audio", "a.ogg", "--duration", "30s", "--loopback"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.Session.ChannelName != "demo-channel" || c.opts.VideoFile != "v.h264" || c.opts.AudioFile != "a.ogg" ||
		c.duration != 30*time.Second || !c.opts.LoopbackOnly || c.opts.FrameRate != 30 {
		t.Errorf("config = %+v", c)
	}
	for _, tc := range []struct {
		args  []string
		words string
	}{
		{[]string{"--video", "v", "--audio", "a"}, "exactly one of --channel-name and --channel-arn"},
		{[]string{"--channel-name", "x", "--channel-arn", "y", "--video", "v", "--audio", "a"}, "exactly one"},
		{[]string{"--channel-name", "x", "--audio", "a"}, "--video and --audio are required"},
		{[]string{"--channel-name", "x", "--video", "v", "--audio", "a", "--duration", "-1s"}, "negative"},
		{[]string{"--channel-name", "x", "--video", "v", "--audio", "a", "extra"}, "unexpected arguments"},
		{[]string{"--nope"}, "not defined"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("parseFlags(%q) = %v, want an error with %q", tc.args, err, tc.words)
		}
	}
}
