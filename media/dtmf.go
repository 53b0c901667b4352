package media

import "fmt"

// TelephoneEventSize is the size of an RFC 4733 telephone-event payload.
const TelephoneEventSize = 4

// TelephoneEvent is one RFC 4733 §2.3 telephone-event payload: the event
// code, the end bit, the volume and the duration so far.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type TelephoneEvent struct {
	// Event is the event code: 0-9, 10 '*', 11 '#', 12-15 'A'-'D', 16 flash.
	Event uint8
	// End is set on the final packets of an event (sent up to three times).
	End bool
	// Volume is the power level in -dBm0, 0-63.
	Volume uint8
	// Duration is the event's length so far in RTP timestamp units.
	Duration uint16
}

// ParseTelephoneEvent parses an RFC 4733 payload. Bytes after the first
// four (further events of a multi-event packet) are ignored. A payload
// shorter than four bytes gives an error wrapping ErrShortPayload.
func ParseTelephoneEvent(b []byte) (TelephoneEvent, error) {
	if len(b) < TelephoneEventSize {
		return TelephoneEvent{}, fmt.Errorf("%w: telephone-event of %d bytes", ErrShortPayload, len(b))
	}
	return TelephoneEvent{
		Event:    b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3f,
		Duration: uint16(b[2])<<8 | uint16(b[3]),
	}, nil
}

// MarshalTo writes the payload into b, which must hold TelephoneEventSize
// bytes, and returns the number of bytes written. Volume is masked to six
// bits; the reserved bit is zero.
func (e TelephoneEvent) MarshalTo(b []byte) (int, error) {
	if len(b) < TelephoneEventSize {
		return 0, fmt.Errorf("%w: buffer of %d bytes for a telephone-event", ErrShortPayload, len(b))
	}
	b[0] = e.Event
	b[1] = e.Volume & 0x3f
	if e.End {
		b[1] |= 0x80
	}
	b[2] = byte(e.Duration >> 8)
	b[3] = byte(e.Duration)
	return TelephoneEventSize, nil
}

// Digit is one detected key press.
type Digit struct {
	// Event is the RFC 4733 event code (0-16).
	Event uint8
	// Duration is how long the key was held, in RTP timestamp units
	// (1/8000 s for telephone-event/8000). For an in-band press it is how
	// long the tone had lasted when it was recognised.
	Duration uint16
	// InBand is set for a press heard as tones in the audio
	// (InBandDTMFDetector), clear for an RFC 4733 event.
	InBand bool
}

// Rune is the key as a character: '0'-'9', '*', '#', 'A'-'D', or '!' for
// flash; 0 for an event that is not a DTMF key.
func (d Digit) Rune() rune {
	const keys = "0123456789*#ABCD!"
	if int(d.Event) < len(keys) {
		return rune(keys[d.Event])
	}
	return 0
}

// String is the key as a one-character string, or "event N".
func (d Digit) String() string {
	if r := d.Rune(); r != 0 {
		return string(r)
	}
	return fmt.Sprintf("event %d", d.Event)
}
