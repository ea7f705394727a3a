// SPDX-License-Identifier: Apache-2.0

package kvsws

// The core's log lines into Go: the C log function (kvsws_go_log, in cgo.go) calls kvswsGoLog
// with the client's cgo.Handle. A file with an //export may only declare in its preamble.

/*
#include <stdint.h>
#include <kvsws.h>
*/
import "C"

import "runtime/cgo"

// The level constants in logger.go must be the header's.
var _ = [1]struct{}{}[0|
	(logOff-int(C.KVSWS_LOG_OFF))|(logError-int(C.KVSWS_LOG_ERROR))|(logWarn-int(C.KVSWS_LOG_WARN))|
	(logInfo-int(C.KVSWS_LOG_INFO))|(logDebug-int(C.KVSWS_LOG_DEBUG))]

//export kvswsGoLog
func kvswsGoLog(handle C.uintptr_t, level C.int, line *C.char) {
	cl, ok := cgo.Handle(handle).Value().(*clientLog)
	if ok {
		cl.deliver(int(level), C.GoString(line))
	}
}
