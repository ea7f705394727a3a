// SPDX-License-Identifier: Apache-2.0

// Package othercgo is someone else's cgo package that also links libcurl and OpenSSL, and whose C
// code has global functions named like static helpers of the kvsws core (helpers.c). A program
// must be able to link it beside kvsws and use both.
package othercgo

/*
#cgo LDFLAGS: -lcurl -lcrypto
#include <stdlib.h>
#include <curl/curl.h>
#include <openssl/evp.h>

long long now_ms(void);
int eq_ci(const char *a, const char *b);

static int sha256(const char *s, size_t n, unsigned char *out)
{
	unsigned int len = 0;
	return EVP_Digest(s, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}
*/
import "C"

import (
	"encoding/hex"
	"unsafe"
)

// CurlVersion is libcurl's version line (curl_version).
func CurlVersion() string { return C.GoString(C.curl_version()) }

// SHA256Hex hashes s with OpenSSL's EVP_Digest.
func SHA256Hex(s string) string {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	var out [32]byte
	if C.sha256(cs, C.size_t(len(s)), (*C.uchar)(&out[0])) == 0 {
		return ""
	}
	return hex.EncodeToString(out[:])
}

// NowMs is helpers.c's now_ms (always 42), not any now_ms of the kvsws core.
func NowMs() int64 { return int64(C.now_ms()) }

// EqCI is helpers.c's eq_ci.
func EqCI(a, b string) bool {
	ca, cb := C.CString(a), C.CString(b)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cb))
	return C.eq_ci(ca, cb) != 0
}
