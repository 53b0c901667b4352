package media

import "errors"

// Sentinel errors callers may branch on with errors.Is.
var (
	// ErrNoPorts means every RTP/RTCP port pair in the allocator's range is
	// in use, by us or by another process.
	ErrNoPorts = errors.New("media: no free RTP port pair")

	// ErrPortRange means a port range cannot hold a single even/odd pair.
	ErrPortRange = errors.New("media: invalid RTP port range")

	// ErrShortPayload means a payload is shorter than its format requires.
	ErrShortPayload = errors.New("media: payload too short")

	// ErrUnsupportedCodec means a payload type the relay cannot send:
	// only PCMU (0) and PCMA (8) are supported as a leg's audio codec.
	ErrUnsupportedCodec = errors.New("media: unsupported codec")

	// ErrUnknownPrompt means a name that is not a built-in prompt.
	ErrUnknownPrompt = errors.New("media: no such built-in prompt")
)
