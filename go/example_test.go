// SPDX-License-Identifier: Apache-2.0

package kvsws_test

// These examples run against the local emulator: TestMain sets AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_CA_BUNDLE and AWS_ENDPOINT_URL_KINESIS_VIDEO the way a user points
// an AWS SDK at it. Against AWS, the same code uses your usual credentials and endpoints.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	kvsws "github.com/kvsws/kvsws/go"
)

func Example() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	// The channel must have media storage enabled.
	ch, err := client.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelName: "demo-channel"})
	if err != nil {
		log.Fatal(err)
	}
	arn := ch.ChannelInfo.ChannelARN
	storage, err := client.DescribeMediaStorageConfiguration(ctx, &kvsws.DescribeMediaStorageConfigurationInput{ChannelARN: arn})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("media storage:", storage.MediaStorageConfiguration.Status)

	// TURN servers for the WebRTC stack; then, with the signaling WebSocket connected, join.
	ice, err := client.GetIceServerConfig(ctx, &kvsws.GetIceServerConfigInput{ChannelARN: arn})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ICE servers:", len(ice.IceServerList))
	out, err := client.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: arn})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("joined after", out.ResultMetadata.Attempts, "attempt(s)")
	// Output:
	// media storage: ENABLED
	// ICE servers: 1
	// joined after 1 attempt(s)
}

func ExampleNewClient() {
	// Empty fields fall back to the environment and ~/.aws, as in the AWS SDKs.
	client, err := kvsws.NewClient(kvsws.Config{
		Region:      "us-west-2",
		MaxAttempts: 5,
		ReadTimeout: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fmt.Println(client.Region())
	// Output: us-west-2
}

func ExampleNewClient_noRegion() {
	// With no region anywhere (no Region, AWS_REGION, AWS_DEFAULT_REGION or profile region).
	_, err := kvsws.NewClient(kvsws.Config{})
	var noRegion *kvsws.NoRegionError
	fmt.Println(errors.As(err, &noRegion))
	// Output: true
}

func ExampleClient_JoinStorageSession() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	arn := "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123"
	out, err := client.JoinStorageSession(ctx, &kvsws.JoinStorageSessionInput{ChannelARN: arn})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.ResultMetadata.HTTPStatusCode, out.ResultMetadata.Attempts)
	// Output: 200 1
}

func ExampleClient_GetSignalingChannelEndpoint() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	out, err := client.GetSignalingChannelEndpoint(context.Background(), &kvsws.GetSignalingChannelEndpointInput{
		ChannelARN: "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123",
		SingleMasterChannelEndpointConfiguration: &kvsws.SingleMasterChannelEndpointConfiguration{
			Protocols: []kvsws.ChannelProtocol{kvsws.ChannelProtocolWss, kvsws.ChannelProtocolWebrtc},
			Role:      kvsws.ChannelRoleMaster,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range out.ResourceEndpointList {
		fmt.Println(e.Protocol, e.ResourceEndpoint[:6])
	}
	// Output:
	// WSS wss://
	// WEBRTC https:
}

func ExampleResourceNotFoundException() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	_, err = client.DescribeSignalingChannel(context.Background(),
		&kvsws.DescribeSignalingChannelInput{ChannelName: "no-such-channel"})
	var notFound *kvsws.ResourceNotFoundException
	if errors.As(err, &notFound) {
		fmt.Println(notFound.ErrorCode(), notFound.HTTPStatusCode())
		fmt.Println(notFound.ErrorMessage())
	}
	// Output:
	// ResourceNotFoundException 404
	// The requested channel is not found or not active.
}

func ExampleAPIError() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// A channel without media storage has no WEBRTC endpoint: the service says so.
	_, err = client.GetSignalingChannelEndpoint(context.Background(), &kvsws.GetSignalingChannelEndpointInput{
		ChannelARN: "arn:aws:kinesisvideo:us-west-2:123456789012:channel/no-storage-channel/1234567890123",
		SingleMasterChannelEndpointConfiguration: &kvsws.SingleMasterChannelEndpointConfiguration{
			Protocols: []kvsws.ChannelProtocol{kvsws.ChannelProtocolWebrtc},
		},
	})
	var apiErr kvsws.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.ErrorCode(), apiErr.HTTPStatusCode(), apiErr.Retryable(), apiErr.RequestID() != "")
		fmt.Println(kvsws.StatusOf(err))
	}
	// Output:
	// InvalidArgumentException 400 false true
	// KVSWS_E_INVALID_ARGUMENT
}

func ExampleParamValidationError() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Checked against the service model before anything is sent.
	_, err = client.JoinStorageSessionAsViewer(context.Background(), &kvsws.JoinStorageSessionAsViewerInput{
		ChannelARN: "arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/1234567890123",
		ClientID:   "not a valid id",
	})
	var invalid *kvsws.ParamValidationError
	fmt.Println(errors.As(err, &invalid))
	fmt.Println(err)
	// Output:
	// true
	// operation error Kinesis Video WebRTC Storage: JoinStorageSessionAsViewer, Invalid value for parameter clientId: "not a valid id" does not match the pattern ^[a-zA-Z0-9_.-]+$
}

func ExampleClient_DescribeSignalingChannel_timeout() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// A context bounds the whole call, retries included: it cancels the call in flight, and
	// one that is already done fails the call at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	_, err = client.DescribeSignalingChannel(ctx, &kvsws.DescribeSignalingChannelInput{ChannelName: "demo-channel"})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	fmt.Println(err)
	// Output:
	// true
	// operation error Kinesis Video: DescribeSignalingChannel, request canceled, context deadline exceeded
}

func ExampleClient_NewStorageSession() {
	client, err := kvsws.NewClient(kvsws.Config{Region: "us-west-2"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	session, err := client.NewStorageSession(ctx, &kvsws.StorageSessionInput{ChannelName: "demo-channel"})
	if err != nil {
		log.Fatal(err) // a *ParamValidationError or *ConfigError: nothing was sent
	}
	defer session.Close()
	for ev := range session.Events() {
		switch ev.Type {
		case kvsws.EventState:
			fmt.Println("state:", ev.State)
		case kvsws.EventICEServers:
			// For the next peer connection (pion: webrtc.ICEServer{URLs: s.URLs, ...}).
			fmt.Println("ICE servers:", len(ev.ICEServers))
		case kvsws.EventOffer:
			// Make a peer connection, set the offer, add H.264 and Opus tracks, then:
			// session.SendAnswer(answer.SDP), and session.SendCandidate(kvsws.ICECandidateInit(c.ToJSON()))
			// for each local candidate.
			fmt.Println("offer with H.264:", strings.Contains(ev.SDP, "H264/90000"))
			return
		case kvsws.EventICECandidate:
			// pc.AddICECandidate(webrtc.ICECandidateInit(ev.Candidate))
		case kvsws.EventClosed:
			log.Fatal(ev.Err)
		}
	}
	// Output:
	// state: connecting
	// ICE servers: 1
	// state: joining
	// offer with H.264: true
}
