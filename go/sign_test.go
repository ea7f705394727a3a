// SPDX-License-Identifier: Apache-2.0

package kvsws

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func signingClient(t *testing.T, region, key, secret, token string) *Client {
	t.Helper()
	c, err := NewClient(Config{Region: region, AccessKeyID: key, SecretAccessKey: secret, SessionToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The AWS SigV4 suite's get-vanilla case, in header mode.
func TestSignRequestHeaderMode(t *testing.T) {
	c := signingClient(t, "us-east-1", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "")
	out, err := c.SignRequest("service", "GET", "https://example.amazonaws.com/", nil, nil, 0,
		time.Unix(1440938160, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	if !strings.Contains(out, want) || !strings.Contains(out, "X-Amz-Date: 20150830T123600Z") {
		t.Fatalf("got %q", out)
	}
}

// The KVS WebRTC SDKs' golden presigned WSS URL, with and without a session token.
func TestSignRequestPresignGolden(t *testing.T) {
	url := "wss://kvs.awsamazon.com/?X-Amz-TestParam=test-param-value"
	for token, sig := range map[string]string{
		"FakeSessionToken": "fc268038be276315822b4f73eafd28ee3a5632a2a35fdb0a88db9a42b13d6c92",
		"":                 "be1e78950d956a8a9a1997417099ddbd7455619f3d08c4ad20e1e272179ca695",
	} {
		c := signingClient(t, "us-west-2", "AKIA4F7WJQR7FMMWMNXI", "FakeSecretKey", token)
		out, err := c.SignRequest("kinesisvideo", "GET", url, nil, nil, 299*time.Second, time.Unix(1575158400, 0))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out, "wss://kvs.awsamazon.com/?") || !strings.Contains(out, "X-Amz-Signature="+sig) {
			t.Fatalf("token %q: got %q", token, out)
		}
	}
}

func TestSignRequestErrors(t *testing.T) {
	c := signingClient(t, "us-west-2", "AKIDEXAMPLE", "secret", "")
	_, err := c.SignRequest("kinesisvideo", "GET", "wss://a/", nil, nil, 8*24*time.Hour, time.Time{})
	var pv *ParamValidationError
	if !errors.As(err, &pv) || !strings.Contains(err.Error(), "expires_s") {
		t.Fatalf("got %v", err)
	}
	_, err = c.SignRequest("kinesisvideo", "GET", "wss://a/", []string{"no colon"}, nil, 0, time.Time{})
	if !errors.As(err, &pv) {
		t.Fatalf("got %v", err)
	}
	c.Close()
	if _, err := c.SignRequest("kinesisvideo", "GET", "wss://a/", nil, nil, 0, time.Time{}); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("got %v", err)
	}
}
