// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"time"
)

// SignRequest SigV4-signs a request with the client's credentials and region, for sending it
// (or opening a WebSocket) with another HTTP stack. headers are "Name: value" strings to sign
// (Host comes from the URL). With expires == 0 it returns the headers to add, one
// "Name: value" per line; with expires of 1 s to 7 days it returns the presigned URL.
// A zero at signs at the current time.
func (c *Client) SignRequest(service, method, url string, headers []string, body []byte,
	expires time.Duration, at time.Time) (string, error) {
	var unix int64
	if !at.IsZero() {
		unix = at.Unix()
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.p == nil {
		return "", ErrClientClosed
	}
	c.log.follow(c.p)
	out, detail := cSignRequest(c.p, service, method, url, headers, body, int64(expires/time.Second), unix)
	if detail != nil {
		return "", detail.toError()
	}
	return out, nil
}
