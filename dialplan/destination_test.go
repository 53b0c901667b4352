package dialplan

import (
	"errors"
	"testing"
)

func TestParseDestination(t *testing.T) {
	good := map[string]Destination{
		"extension:101":      {Kind: KindExtension, Number: "101"},
		"voicemail:101":      {Kind: KindVoicemail, Number: "101"},
		"ringgroup:600":      {Kind: KindRingGroup, Number: "600"},
		"ivr:500":            {Kind: KindIVR, Number: "500"},
		"conference:800":     {Kind: KindConference, Number: "800"},
		"trunk:pstn:5551234": {Kind: KindTrunk, Trunk: "pstn", Number: "5551234"},
		"number:+4930123456": {Kind: KindNumber, Number: "+4930123456"},
		"hangup":             {Kind: KindHangup},
	}
	for in, want := range good {
		got, err := ParseDestination(in)
		if err != nil || got != want {
			t.Errorf("ParseDestination(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("String() = %q, want %q", got.String(), in)
		}
	}
	bad := []string{"", "extension", "extension:", "extension:1a", "foo:1", "trunk:pstn", "trunk::1",
		"trunk:bad name:1", "number:", "number:+", "hangup:1", "ivr:+1", "extension:1234567890123456"}
	for _, in := range bad {
		if _, err := ParseDestination(in); !errors.Is(err, ErrBadDestination) {
			t.Errorf("ParseDestination(%q) error = %v, want ErrBadDestination", in, err)
		}
	}
}

func FuzzParseDestination(f *testing.F) {
	for _, s := range []string{"extension:101", "trunk:a:1", "hangup", "number:+1", ":", "x:y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDestination(s)
		if err != nil {
			return
		}
		again, err := ParseDestination(d.String())
		if err != nil || again != d {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", s, d, d.String(), again, err)
		}
	})
}
