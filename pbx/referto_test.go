package pbx

import (
	"errors"
	"testing"
)

func TestParseReferTo(t *testing.T) {
	for _, tc := range []struct {
		in      string
		number  string
		replace *replacesID
		bad     bool
	}{
		{in: "<sip:103@10.0.0.1>", number: "103"},
		{in: "sip:103@10.0.0.1;transport=udp", number: "103"},
		{in: `"Bob" <sips:103@pbx.example.com:5061;transport=tls>`, number: "103"},
		{in: "<sip:103@pbx?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>", number: "103",
			replace: &replacesID{callID: "abc@host", toTag: "1", fromTag: "2"}},
		{in: "<sip:103@pbx?Replaces=abc%3Bfrom-tag%3D2%3Bto-tag%3D1%3Bearly-only&Require=replaces>", number: "103",
			replace: &replacesID{callID: "abc", toTag: "1", fromTag: "2", earlyOnly: true}},
		{in: "<sip:alice@pbx>", bad: true},
		{in: "<tel:+15551234>", bad: true},
		{in: "<sip:103@pbx", bad: true},
		{in: "", bad: true},
		{in: "<sip:103@pbx?Replaces=abc%3Bto-tag%3D1>", bad: true},
		{in: "<sip:103@pbx?Replaces=%zz>", bad: true},
	} {
		rt, err := parseReferTo(tc.in)
		if tc.bad {
			if !errors.Is(err, errBadRefer) {
				t.Errorf("%q: %+v %v, want errBadRefer", tc.in, rt, err)
			}
			continue
		}
		if err != nil || rt.number != tc.number {
			t.Errorf("%q: %+v %v, want number %s", tc.in, rt, err, tc.number)
			continue
		}
		if (rt.replaces == nil) != (tc.replace == nil) || (rt.replaces != nil && *rt.replaces != *tc.replace) {
			t.Errorf("%q: replaces %+v, want %+v", tc.in, rt.replaces, tc.replace)
		}
	}
}

// FuzzParseReferTo: any Refer-To value is read or refused with
// errBadRefer, never a panic; what is read names a number or a dialog.
func FuzzParseReferTo(f *testing.F) {
	for _, s := range []string{"<sip:103@10.0.0.1>", "sip:103@h;x=y", "<sip:1@h?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2>",
		"<sip:*3@h>", "<sip:%2A3@h>", "<sip:@>", "<<sip:1@h>>", "sip:1@h?Replaces=;;;", "\"x\" <sips:9@[::1]:5061>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		rt, err := parseReferTo(v)
		if err != nil {
			if !errors.Is(err, errBadRefer) {
				t.Fatalf("%q: error %v does not wrap errBadRefer", v, err)
			}
			return
		}
		if rt.replaces == nil && rt.number == "" {
			t.Fatalf("%q: read with no number and no Replaces", v)
		}
		if rt.replaces != nil && (rt.replaces.callID == "" || rt.replaces.toTag == "" || rt.replaces.fromTag == "") {
			t.Fatalf("%q: incomplete Replaces %+v", v, rt.replaces)
		}
	})
}
