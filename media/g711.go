package media

import (
	"fmt"

	"github.com/zaf/g711"
)

// Static RTP payload types of the codecs the relay speaks (RFC 3551).
const (
	PayloadPCMU uint8 = 0  // G.711 µ-law
	PayloadPCMA uint8 = 8  // G.711 A-law
	PayloadCN   uint8 = 13 // comfort noise, relayed untouched
)

// Lookup tables built once from zaf/g711: decode with one law, re-encode
// with the other. They are arrays written only by their initialisers.
var (
	ulawToAlaw = func() (t [256]byte) {
		for i := range t {
			t[i] = g711.EncodeAlawFrame(g711.DecodeUlawFrame(uint8(i)))
		}
		return t
	}()
	alawToUlaw = func() (t [256]byte) {
		for i := range t {
			t[i] = g711.EncodeUlawFrame(g711.DecodeAlawFrame(uint8(i)))
		}
		return t
	}()
)

// UlawToAlaw transcodes the µ-law samples of src into A-law in dst and
// returns the number of samples written, min(len(dst), len(src)). dst may be
// src to transcode in place. It does not allocate.
func UlawToAlaw(dst, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = ulawToAlaw[s]
	}
	return n
}

// AlawToUlaw transcodes the A-law samples of src into µ-law in dst and
// returns the number of samples written, min(len(dst), len(src)). dst may be
// src to transcode in place. It does not allocate.
func AlawToUlaw(dst, src []byte) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawToUlaw[s]
	}
	return n
}

// Transcode converts a G.711 payload in place from payload type from to
// payload type to (each PayloadPCMU or PayloadPCMA). Equal types leave the
// payload as it is. Other types give an error wrapping ErrUnsupportedCodec.
func Transcode(payload []byte, from, to uint8) error {
	switch {
	case from == to && isG711(from):
	case from == PayloadPCMU && to == PayloadPCMA:
		UlawToAlaw(payload, payload)
	case from == PayloadPCMA && to == PayloadPCMU:
		AlawToUlaw(payload, payload)
	default:
		return fmt.Errorf("%w: transcode %d to %d", ErrUnsupportedCodec, from, to)
	}
	return nil
}

func isG711(pt uint8) bool { return pt == PayloadPCMU || pt == PayloadPCMA }

// DecodePCM decodes a G.711 payload of type pt into dst as linear samples
// and returns how many it wrote, min(len(dst), len(payload)); 0 for a
// payload type other than PCMU or PCMA. It does not allocate.
func DecodePCM(dst []int16, payload []byte, pt uint8) int {
	n := min(len(dst), len(payload))
	switch pt {
	case PayloadPCMU:
		for i, b := range payload[:n] {
			dst[i] = g711.DecodeUlawFrame(b)
		}
	case PayloadPCMA:
		for i, b := range payload[:n] {
			dst[i] = g711.DecodeAlawFrame(b)
		}
	default:
		return 0
	}
	return n
}

// EncodePCM encodes linear samples into dst as a G.711 payload of type pt
// and returns how many bytes it wrote, min(len(dst), len(pcm)); 0 for a
// payload type other than PCMU or PCMA. It does not allocate.
func EncodePCM(dst []byte, pcm []int16, pt uint8) int {
	n := min(len(dst), len(pcm))
	switch pt {
	case PayloadPCMU:
		for i, s := range pcm[:n] {
			dst[i] = g711.EncodeUlawFrame(s)
		}
	case PayloadPCMA:
		for i, s := range pcm[:n] {
			dst[i] = g711.EncodeAlawFrame(s)
		}
	default:
		return 0
	}
	return n
}
