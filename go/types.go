// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"encoding/json"
	"math"
	"time"
)

// ChannelProtocol is a protocol of a signaling channel endpoint.
type ChannelProtocol string

// The channel protocols.
const (
	ChannelProtocolWss    ChannelProtocol = "WSS"    // the signaling WebSocket
	ChannelProtocolHttps  ChannelProtocol = "HTTPS"  // GetIceServerConfig and the other HTTPS calls
	ChannelProtocolWebrtc ChannelProtocol = "WEBRTC" // JoinStorageSession (channels with storage only)
)

// ChannelRole is the role an endpoint is asked for.
type ChannelRole string

// The channel roles.
const (
	ChannelRoleMaster ChannelRole = "MASTER"
	ChannelRoleViewer ChannelRole = "VIEWER"
)

// ChannelType is the type of a signaling channel.
type ChannelType string

// The channel types.
const (
	ChannelTypeSingleMaster ChannelType = "SINGLE_MASTER"
	ChannelTypeFullMesh     ChannelType = "FULL_MESH"
)

// ChannelStatus is the status of a signaling channel.
type ChannelStatus string

// The channel statuses.
const (
	ChannelStatusCreating ChannelStatus = "CREATING"
	ChannelStatusActive   ChannelStatus = "ACTIVE"
	ChannelStatusUpdating ChannelStatus = "UPDATING"
	ChannelStatusDeleting ChannelStatus = "DELETING"
)

// MediaStorageConfigurationStatus says whether a channel's media storage is enabled.
type MediaStorageConfigurationStatus string

// The media storage statuses.
const (
	MediaStorageConfigurationStatusEnabled  MediaStorageConfigurationStatus = "ENABLED"
	MediaStorageConfigurationStatusDisabled MediaStorageConfigurationStatus = "DISABLED"
)

// Service is the kind of ICE server GetIceServerConfig returns.
type Service string

// The ICE services.
const (
	ServiceTurn Service = "TURN"
)

// Metadata describes the answer to a successful call.
type Metadata struct {
	RequestID      string // the x-amzn-RequestId of the answer
	HTTPStatusCode int    // 200
	Attempts       int    // requests sent, retries included (1 when no retry happened)
}

// SingleMasterChannelEndpointConfiguration says which endpoints GetSignalingChannelEndpoint
// returns.
type SingleMasterChannelEndpointConfiguration struct {
	// Protocols to return endpoints for; the service's default when empty.
	Protocols []ChannelProtocol `json:"Protocols,omitempty"`
	// Role the endpoints are for; the service's default (MASTER) when empty.
	Role ChannelRole `json:"Role,omitempty"`
}

// ResourceEndpointListItem is one endpoint of a signaling channel.
type ResourceEndpointListItem struct {
	Protocol         ChannelProtocol `json:"Protocol"`
	ResourceEndpoint string          `json:"ResourceEndpoint"` // "wss://..." or "https://..."
}

// SingleMasterConfiguration is the configuration of a SINGLE_MASTER channel.
type SingleMasterConfiguration struct {
	// MessageTtlSeconds is how long the service keeps undelivered signaling messages.
	MessageTtlSeconds int32 `json:"MessageTtlSeconds"`
}

// ChannelInfo describes a signaling channel.
type ChannelInfo struct {
	ChannelARN                string                     `json:"ChannelARN"`
	ChannelName               string                     `json:"ChannelName"`
	ChannelStatus             ChannelStatus              `json:"ChannelStatus"`
	ChannelType               ChannelType                `json:"ChannelType"`
	CreationTime              time.Time                  `json:"-"` // sent as epoch seconds
	SingleMasterConfiguration *SingleMasterConfiguration `json:"SingleMasterConfiguration"`
	Version                   string                     `json:"Version"`
}

// UnmarshalJSON decodes a ChannelInfo as the API sends it: CreationTime is a number of seconds
// since the Unix epoch.
func (ci *ChannelInfo) UnmarshalJSON(b []byte) error {
	type plain ChannelInfo
	var raw struct {
		plain
		CreationTime *float64 `json:"CreationTime"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*ci = ChannelInfo(raw.plain)
	if raw.CreationTime != nil {
		ci.CreationTime = time.UnixMilli(int64(math.Round(*raw.CreationTime * 1000))).UTC()
	}
	return nil
}

// MediaStorageConfiguration is a channel's media storage configuration.
type MediaStorageConfiguration struct {
	// StreamARN is the stream the channel stores media in; nil when storage is disabled.
	StreamARN *string                         `json:"StreamARN"`
	Status    MediaStorageConfigurationStatus `json:"Status"`
}

// IceServer is one STUN or TURN server with its credentials.
type IceServer struct {
	Uris     []string `json:"Uris"`     // "turn:host:port?transport=udp", ...
	Username string   `json:"Username"` // TURN credentials, valid for Ttl seconds
	Password string   `json:"Password"`
	Ttl      int32    `json:"Ttl"` // seconds
}
