// SPDX-License-Identifier: Apache-2.0

package streamer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// h264File reads an H.264 Annex-B file as access units (one picture each, with the SPS/PPS
// that come before it), from the start again at the end.
type h264File struct {
	path    string
	f       *os.File
	r       *h264reader.H264Reader
	pending []*h264reader.NAL
	units   int // access units read since the file was (re)opened
}

func openH264(path string) (*h264File, error) {
	h := &h264File{path: path}
	if err := h.reopen(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *h264File) reopen() error {
	if h.f != nil {
		h.f.Close()
	}
	f, err := os.Open(h.path)
	if err != nil {
		return err
	}
	r, err := h264reader.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: not an H.264 Annex-B file: %w", h.path, err)
	}
	h.f, h.r, h.pending, h.units = f, r, nil, 0
	return nil
}

func (h *h264File) Close() error { return h.f.Close() }

func isVCL(n *h264reader.NAL) bool {
	return n.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr || n.UnitType == h264reader.NalUnitTypeCodedSliceIdr
}

// startsPicture says whether a NAL begins a new access unit once a picture is pending: a
// parameter set, SEI or delimiter, or the first slice of a picture (first_mb_in_slice, a
// ue(v), is 0 exactly when its first bit is 1).
func startsPicture(n *h264reader.NAL) bool {
	switch n.UnitType {
	case h264reader.NalUnitTypeSEI, h264reader.NalUnitTypeSPS, h264reader.NalUnitTypePPS, h264reader.NalUnitTypeAUD:
		return true
	}
	return isVCL(n) && len(n.Data) > 1 && n.Data[1]&0x80 != 0
}

// Next returns the next access unit in Annex-B form (start codes before every NAL).
func (h *h264File) Next() ([]byte, error) {
	for {
		nal, err := h.r.NextNAL()
		if errors.Is(err, io.EOF) || (err == nil && nal == nil) {
			if au := h.flush(); au != nil {
				return au, nil
			}
			if h.units == 0 {
				return nil, fmt.Errorf("%s: no H.264 picture in the file", h.path)
			}
			if err := h.reopen(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			if h.units == 0 {
				return nil, fmt.Errorf("%s: not an H.264 Annex-B file: %w", h.path, err)
			}
			return nil, fmt.Errorf("%s: %w", h.path, err)
		}
		var au []byte
		if startsPicture(nal) && h.hasPicture() {
			au = h.flush()
		}
		h.pending = append(h.pending, nal)
		if au != nil {
			return au, nil
		}
	}
}

func (h *h264File) hasPicture() bool {
	for _, n := range h.pending {
		if isVCL(n) {
			return true
		}
	}
	return false
}

func (h *h264File) flush() []byte {
	if !h.hasPicture() {
		return nil
	}
	var au []byte
	for _, n := range h.pending {
		au = append(au, 0, 0, 0, 1)
		au = append(au, n.Data...)
	}
	h.pending = nil
	h.units++
	return au
}

// oggOpusFile reads the Opus packets of an Ogg file (one packet per page, as ffmpeg writes
// with -page_duration 20000), from the start again at the end.
type oggOpusFile struct {
	path        string
	f           *os.File
	r           *oggreader.OggReader
	lastGranule uint64
	packets     int
}

func openOggOpus(path string) (*oggOpusFile, error) {
	o := &oggOpusFile{path: path}
	if err := o.reopen(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *oggOpusFile) reopen() error {
	if o.f != nil {
		o.f.Close()
	}
	f, err := os.Open(o.path)
	if err != nil {
		return err
	}
	r, header, err := oggreader.NewWith(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: not an Ogg/Opus file: %w", o.path, err)
	}
	if header.SampleRate == 0 {
		f.Close()
		return fmt.Errorf("%s: no Opus header", o.path)
	}
	o.f, o.r, o.lastGranule, o.packets = f, r, 0, 0
	return nil
}

func (o *oggOpusFile) Close() error { return o.f.Close() }

// Next returns the next Opus packet and how long it plays (from the granule positions, which
// count 48 kHz samples).
func (o *oggOpusFile) Next() ([]byte, time.Duration, error) {
	for {
		page, header, err := o.r.ParseNextPage()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if o.packets == 0 {
				return nil, 0, fmt.Errorf("%s: no Opus packet in the file", o.path)
			}
			if err := o.reopen(); err != nil {
				return nil, 0, err
			}
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", o.path, err)
		}
		if _, isHeader := header.HeaderType(page); isHeader || len(page) == 0 {
			continue // OpusTags
		}
		samples := header.GranulePosition - o.lastGranule
		o.lastGranule = header.GranulePosition
		if samples == 0 || samples > 48000 {
			samples = 960 // the first page after the headers, or a gap: assume 20 ms
		}
		o.packets++
		return page, time.Duration(samples) * time.Second / 48000, nil
	}
}
