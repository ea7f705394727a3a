// SPDX-License-Identifier: Apache-2.0

// Command stream-to-storage streams an H.264 file and an Ogg/Opus file into a Kinesis Video
// Streams WebRTC storage session, with kvsws for the signaling and pion for the WebRTC:
//
//	go run ./cmd/stream-to-storage --channel-name demo-channel --video video.h264 --audio audio.ogg --duration 30s
//
// Credentials, region and endpoints come from the usual AWS environment variables and files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kvsws/kvsws/examples/go/streamer"
	kvsws "github.com/kvsws/kvsws/go"
)

type config struct {
	opts     streamer.Options
	duration time.Duration
	region   string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("stream-to-storage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.opts.Session.ChannelName, "channel-name", "", "the signaling channel's name")
	fs.StringVar(&c.opts.Session.ChannelARN, "channel-arn", "", "the signaling channel's ARN (instead of --channel-name)")
	fs.StringVar(&c.opts.VideoFile, "video", "", "H.264 Annex-B file (constrained baseline, no B-frames), played in a loop")
	fs.StringVar(&c.opts.AudioFile, "audio", "", "Ogg/Opus file (48 kHz, one packet per page), played in a loop")
	fs.Float64Var(&c.opts.FrameRate, "fps", 30, "the video file's frame rate")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: until interrupted)")
	fs.StringVar(&c.region, "region", "", "AWS region (else AWS_REGION, the profile, ...)")
	fs.BoolVar(&c.opts.LoopbackOnly, "loopback", false, "gather loopback ICE candidates only (for the local emulator)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case (c.opts.Session.ChannelName == "") == (c.opts.Session.ChannelARN == ""):
		return nil, errors.New("give exactly one of --channel-name and --channel-arn")
	case c.opts.VideoFile == "" || c.opts.AudioFile == "":
		return nil, errors.New("--video and --audio are required")
	case c.duration < 0:
		return nil, errors.New("--duration must not be negative")
	}
	return &c, nil
}

func main() {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stream-to-storage:", err)
		os.Exit(2)
	}
	client, err := kvsws.NewClient(kvsws.Config{Region: c.region})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	stats, err := streamer.Stream(ctx, client, c.opts)
	if stats != nil {
		log.Printf("offers answered: %d, video frames: %d, audio packets: %d", stats.Offers, stats.VideoFrames, stats.AudioPackets)
	}
	if err != nil {
		log.Printf("stream-to-storage: %v", err)
		client.Close()
		os.Exit(1)
	}
}
