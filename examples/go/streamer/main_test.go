// SPDX-License-Identifier: Apache-2.0

package streamer_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvsws/kvsws/go/kvswstest"
)

// The local emulator (tests/emulator, run by kvswstest) with its built-in TURN server, and the media
// files, made by make_media.py; both set up by TestMain. KVSWS_PYTHON (default ../../../.venv/bin/python)
// and KVSWS_EMULATOR_DIR (default ../../../tests/emulator) say which Python and emulator to run.
var emu *kvswstest.Emulator

var videoFile, audioFile string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	python, err := kvswstest.FindPython() // also runs make_media.py
	if err != nil {
		fmt.Fprintf(os.Stderr, "streamer tests: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "kvsws-streamer-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	media := filepath.Join(dir, "media")
	start := time.Now()
	out, err := exec.Command(python, "../make_media.py", media, "--seconds", "4").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "streamer tests: make_media.py failed: %v\n%s", err, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "streamer tests: media made in %v: %s", time.Since(start).Round(time.Millisecond), out)
	videoFile, audioFile = filepath.Join(media, "video.h264"), filepath.Join(media, "audio.ogg")

	// The built-in TURN server (GetIceServerConfig returns it); no recordings (CPU).
	emu, err = kvswstest.StartEmulator(kvswstest.Options{Python: python, Config: map[string]any{"record": false}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "streamer tests: cannot start the emulator: %v\n", err)
		return 1
	}
	defer emu.Close()

	// As a user points an SDK at the emulator; nothing from the developer's shell or ~/.aws.
	emu.Setenv()
	code := m.Run()
	if code != 0 {
		emu.WriteLogTail(os.Stderr, 8000)
	}
	return code
}
