// SPDX-License-Identifier: Apache-2.0

package kvsws

import "context"

// The operations, with the service id aws-sdk-go-v2 gives their service.
var (
	opJoinStorageSession                = operation{"JoinStorageSession", serviceWebRTCStorage}
	opJoinStorageSessionAsViewer        = operation{"JoinStorageSessionAsViewer", serviceWebRTCStorage}
	opGetSignalingChannelEndpoint       = operation{"GetSignalingChannelEndpoint", serviceKinesisVideo}
	opDescribeSignalingChannel          = operation{"DescribeSignalingChannel", serviceKinesisVideo}
	opDescribeMediaStorageConfiguration = operation{"DescribeMediaStorageConfiguration", serviceKinesisVideo}
	opGetIceServerConfig                = operation{"GetIceServerConfig", serviceSignaling}
	// A storage session's signaling WebSocket: its upgrade is one of these.
	opConnectAsMaster = operation{"ConnectAsMaster", serviceSignaling}
	opConnectAsViewer = operation{"ConnectAsViewer", serviceSignaling}
)

const (
	serviceKinesisVideo  = "Kinesis Video"
	serviceSignaling     = "Kinesis Video Signaling"
	serviceWebRTCStorage = "Kinesis Video WebRTC Storage"
)

// JoinStorageSessionInput is the input of JoinStorageSession.
type JoinStorageSessionInput struct {
	// ChannelARN is the signaling channel's ARN. Required.
	ChannelARN string `json:"channelArn,omitempty"`
}

// JoinStorageSessionOutput is the output of JoinStorageSession.
type JoinStorageSessionOutput struct {
	ResultMetadata Metadata `json:"-"`
}

// JoinStorageSession asks the storage service to join the channel's storage session as the
// master: the service then sends an SDP offer on the channel's signaling WebSocket, so connect
// it first. A success only means the request was accepted.
//
// The call goes to the channel's WEBRTC endpoint, which the client finds with
// GetSignalingChannelEndpoint once per channel (unless an endpoint is configured) and caches.
// Every call makes the service send one more offer: it is retried on throttling, 5xx and
// connection errors unless Config.DisableJoinRetry is set, and ResultMetadata.Attempts (or
// the error's Attempts) says how many requests were sent.
func (c *Client) JoinStorageSession(ctx context.Context, params *JoinStorageSessionInput) (*JoinStorageSessionOutput, error) {
	if params == nil {
		params = &JoinStorageSessionInput{}
	}
	out := &JoinStorageSessionOutput{}
	md, err := c.invoke(ctx, opJoinStorageSession, params, out)
	if err != nil {
		return nil, err
	}
	out.ResultMetadata = md
	return out, nil
}

// JoinStorageSessionAsViewerInput is the input of JoinStorageSessionAsViewer.
type JoinStorageSessionAsViewerInput struct {
	// ChannelARN is the signaling channel's ARN. Required.
	ChannelARN string `json:"channelArn,omitempty"`
	// ClientID identifies the viewer: 1 to 256 of [a-zA-Z0-9_.-]. Required.
	ClientID string `json:"clientId,omitempty"`
}

// JoinStorageSessionAsViewerOutput is the output of JoinStorageSessionAsViewer.
type JoinStorageSessionAsViewerOutput struct {
	ResultMetadata Metadata `json:"-"`
}

// JoinStorageSessionAsViewer joins the channel's storage session as a viewer; see
// JoinStorageSession.
func (c *Client) JoinStorageSessionAsViewer(ctx context.Context, params *JoinStorageSessionAsViewerInput) (*JoinStorageSessionAsViewerOutput, error) {
	if params == nil {
		params = &JoinStorageSessionAsViewerInput{}
	}
	out := &JoinStorageSessionAsViewerOutput{}
	md, err := c.invoke(ctx, opJoinStorageSessionAsViewer, params, out)
	if err != nil {
		return nil, err
	}
	out.ResultMetadata = md
	return out, nil
}

// GetSignalingChannelEndpointInput is the input of GetSignalingChannelEndpoint.
type GetSignalingChannelEndpointInput struct {
	// ChannelARN is the signaling channel's ARN. Required.
	ChannelARN string `json:"ChannelARN,omitempty"`
	// SingleMasterChannelEndpointConfiguration says which endpoints to return; nil for the
	// service's defaults (WSS and HTTPS, as MASTER).
	SingleMasterChannelEndpointConfiguration *SingleMasterChannelEndpointConfiguration `json:"SingleMasterChannelEndpointConfiguration,omitempty"`
}

// GetSignalingChannelEndpointOutput is the output of GetSignalingChannelEndpoint.
type GetSignalingChannelEndpointOutput struct {
	ResourceEndpointList []ResourceEndpointListItem `json:"ResourceEndpointList"`
	ResultMetadata       Metadata                   `json:"-"`
}

// GetSignalingChannelEndpoint returns the channel's endpoints for the protocols asked for.
// Asking for WEBRTC on a channel without media storage fails with InvalidArgumentException.
func (c *Client) GetSignalingChannelEndpoint(ctx context.Context, params *GetSignalingChannelEndpointInput) (*GetSignalingChannelEndpointOutput, error) {
	if params == nil {
		params = &GetSignalingChannelEndpointInput{}
	}
	out := &GetSignalingChannelEndpointOutput{}
	md, err := c.invoke(ctx, opGetSignalingChannelEndpoint, params, out)
	if err != nil {
		return nil, err
	}
	out.ResultMetadata = md
	return out, nil
}

// DescribeSignalingChannelInput is the input of DescribeSignalingChannel: give ChannelARN or
// ChannelName.
type DescribeSignalingChannelInput struct {
	ChannelARN  string `json:"ChannelARN,omitempty"`
	ChannelName string `json:"ChannelName,omitempty"`
}

// DescribeSignalingChannelOutput is the output of DescribeSignalingChannel.
type DescribeSignalingChannelOutput struct {
	ChannelInfo    *ChannelInfo `json:"ChannelInfo"`
	ResultMetadata Metadata     `json:"-"`
}

// DescribeSignalingChannel describes a signaling channel, found by ARN or by name.
func (c *Client) DescribeSignalingChannel(ctx context.Context, params *DescribeSignalingChannelInput) (*DescribeSignalingChannelOutput, error) {
	if params == nil {
		params = &DescribeSignalingChannelInput{}
	}
	out := &DescribeSignalingChannelOutput{}
	md, err := c.invoke(ctx, opDescribeSignalingChannel, params, out)
	if err != nil {
		return nil, err
	}
	out.ResultMetadata = md
	return out, nil
}

// DescribeMediaStorageConfigurationInput is the input of DescribeMediaStorageConfiguration:
// give ChannelARN or ChannelName.
type DescribeMediaStorageConfigurationInput struct {
	ChannelARN  string `json:"ChannelARN,omitempty"`
	ChannelName string `json:"ChannelName,omitempty"`
}

// DescribeMediaStorageConfigurationOutput is the output of DescribeMediaStorageConfiguration.
type DescribeMediaStorageConfigurationOutput struct {
	MediaStorageConfiguration *MediaStorageConfiguration `json:"MediaStorageConfiguration"`
	ResultMetadata            Metadata                   `json:"-"`
}

// DescribeMediaStorageConfiguration returns the channel's media storage configuration: a
// storage session needs its Status to be ENABLED.
func (c *Client) DescribeMediaStorageConfiguration(ctx context.Context, params *DescribeMediaStorageConfigurationInput) (*DescribeMediaStorageConfigurationOutput, error) {
	if params == nil {
		params = &DescribeMediaStorageConfigurationInput{}
	}
	out := &DescribeMediaStorageConfigurationOutput{}
	md, err := c.invoke(ctx, opDescribeMediaStorageConfiguration, params, out)
	if err != nil {
		return nil, err
	}
	out.ResultMetadata = md
	return out, nil
}

// GetIceServerConfigInput is the input of GetIceServerConfig.
type GetIceServerConfigInput struct {
	// ChannelARN is the signaling channel's ARN. Required.
	ChannelARN string `json:"ChannelARN,omitempty"`
	// ClientID identifies the viewer asking; empty for the master.
	ClientID string `json:"ClientId,omitempty"`
	// Service is the kind of server; empty for the default, TURN.
	Service Service `json:"Service,omitempty"`
	// Username is an optional user id for the TURN credentials.
	Username string `json:"Username,omitempty"`
}

// GetIceServerConfigOutput is the output of GetIceServerConfig.
type GetIceServerConfigOutput struct {
	IceServerList  []IceServer `json:"IceServerList"`
	ResultMetadata Metadata    `json:"-"`
}

// GetIceServerConfig returns TURN servers and short-lived credentials for them. The call goes
// to the channel's HTTPS endpoint, found and cached as for JoinStorageSession.
func (c *Client) GetIceServerConfig(ctx context.Context, params *GetIceServerConfigInput) (*GetIceServerConfigOutput, error) {
	if params == nil {
		params = &GetIceServerConfigInput{}
	}
	out := &GetIceServerConfigOutput{}
	md, err := c.invoke(ctx, opGetIceServerConfig, params, out)
	if err != nil {
		return nil, err
	}
	out.ResultMetadata = md
	return out, nil
}
