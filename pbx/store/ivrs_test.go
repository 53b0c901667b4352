package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// newIVR returns an IVR menu that passes every column check.
func newIVR(number string, options map[string]string) *IVR {
	if options == nil {
		options = map[string]string{}
	}
	return &IVR{Number: number, Name: "Menu " + number, Options: options, TimeoutSeconds: 5, Retries: 3,
		OnTimeout: "hangup", OnInvalid: "hangup", DirectDial: true}
}

func mustCreateIVR(t *testing.T, s *Store, v *IVR) {
	t.Helper()
	if err := s.CreateIVR(context.Background(), v); err != nil {
		t.Fatalf("CreateIVR(%s): %v", v.Number, err)
	}
}

func TestIVRRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	var changes []Change
	s.Subscribe(func(c Change) { changes = append(changes, c) })

	v := newIVR("500", map[string]string{"1": "extension:101", "2": "voicemail:101", "*": "ivr:500", "#": "number:0800123"})
	v.Greeting, v.InvalidPrompt, v.TimeoutPrompt = "main-greeting", "oops", "hello-again"
	v.OnTimeout, v.OnInvalid = "extension:101", "ivr:500"
	v.DirectDial = false
	mustCreateIVR(t, s, v)
	if kind, err := s.NumberKind(ctx, "500"); err != nil || kind != "ivr" {
		t.Errorf("NumberKind(500) = %q, %v", kind, err)
	}
	got, err := s.GetIVR(ctx, "500")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, *v) {
		t.Errorf("GetIVR =\n%+v\nwant\n%+v", got, *v)
	}

	v.Options = map[string]string{"0": "hangup"}
	v.TimeoutSeconds, v.Retries = 60, 0
	if err := s.UpdateIVR(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetIVR(ctx, "500"); !reflect.DeepEqual(got, *v) {
		t.Errorf("after update =\n%+v\nwant\n%+v", got, *v)
	}
	if err := s.UpdateIVR(ctx, newIVR("599", nil)); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing menu: %v, want ErrNotFound", err)
	}
	if _, err := s.GetIVR(ctx, "599"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing menu: %v, want ErrNotFound", err)
	}
	if err := s.DeleteIVR(ctx, "500"); err != nil {
		t.Fatalf("delete a menu only it refers to: %v", err)
	}
	if _, err := s.NumberKind(ctx, "500"); !errors.Is(err, ErrNotFound) {
		t.Errorf("number kept after delete: %v", err)
	}
	if err := s.DeleteIVR(ctx, "500"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	want := []Change{{Kind: "ivr", Key: "500"}, {Kind: "ivr", Key: "500"}, {Kind: "ivr", Key: "500", Deleted: true}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %+v, want %+v", changes, want)
	}
}

func TestCreateIVRRejects(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	tests := []struct {
		name      string
		mutate    func(*IVR)
		wantErr   error  // nil: any error
		wantField string // the InvalidError field, if any
	}{
		{"number of an extension", func(v *IVR) { v.Number = "101" }, ErrNumberTaken, ""},
		{"letters in number", func(v *IVR) { v.Number = "5a" }, nil, ""},
		{"timeout too long", func(v *IVR) { v.TimeoutSeconds = 61 }, nil, ""},
		{"timeout zero", func(v *IVR) { v.TimeoutSeconds = 0 }, nil, ""},
		{"too many retries", func(v *IVR) { v.Retries = 11 }, nil, ""},
		{"bad key", func(v *IVR) { v.Options["A"] = "hangup" }, ErrInvalid, "options"},
		{"dangling option", func(v *IVR) { v.Options["1"] = "extension:102" }, ErrInvalid, "options.1"},
		{"option to a missing menu", func(v *IVR) { v.Options["9"] = "ivr:501" }, ErrInvalid, "options.9"},
		{"malformed option", func(v *IVR) { v.Options["1"] = "ext:101" }, ErrInvalid, "options.1"},
		{"trunk", func(v *IVR) { v.OnTimeout = "trunk:pstn:123" }, ErrInvalid, "on_timeout"},
		{"empty on_invalid", func(v *IVR) { v.OnInvalid = "" }, nil, ""},
		{"voicemail of a menu", func(v *IVR) { v.OnInvalid = "voicemail:500" }, ErrInvalid, "on_invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newIVR("500", map[string]string{"1": "extension:101"})
			tt.mutate(v)
			err := s.CreateIVR(ctx, v)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			var inv *InvalidError
			if tt.wantField != "" && (!errors.As(err, &inv) || inv.Fields[tt.wantField] == "") {
				t.Errorf("err %v does not name field %s", err, tt.wantField)
			}
			if v.Number != "101" {
				if _, err := s.NumberKind(ctx, v.Number); !errors.Is(err, ErrNotFound) {
					t.Errorf("number %q claimed by a failed create: %v", v.Number, err)
				}
			}
		})
	}
}

func TestListIVRs(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, n := range []string{"503", "501", "502", "600"} {
		v := newIVR(n, map[string]string{"1": "ivr:" + n, "2": "hangup"})
		if n == "600" {
			v.Name = "Support"
		}
		mustCreateIVR(t, s, v)
	}
	var numbers []string
	after := ""
	for pages := 0; ; pages++ {
		items, next, err := s.ListIVRs(ctx, ListOptions{Limit: 3, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range items {
			numbers = append(numbers, v.Number)
			if len(v.Options) != 2 || v.Options["1"] != "ivr:"+v.Number {
				t.Errorf("ivr %s listed with options %v", v.Number, v.Options)
			}
		}
		if next == "" {
			if pages != 1 {
				t.Errorf("%d pages, want 2", pages+1)
			}
			break
		}
		after = next
	}
	if want := []string{"501", "502", "503", "600"}; !reflect.DeepEqual(numbers, want) {
		t.Errorf("listed %v, want %v", numbers, want)
	}
	for q, want := range map[string][]string{"50": {"501", "502", "503"}, "port": {"600"}, "6": {"600"}, "%": nil} {
		items, _, err := s.ListIVRs(ctx, ListOptions{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range items {
			got = append(got, v.Number)
			if len(v.Options) != 2 {
				t.Errorf("q=%q: ivr %s options %v", q, v.Number, v.Options)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("q=%q: %v, want %v", q, got, want)
		}
	}
}

func TestPromptUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	a := newIVR("500", nil)
	a.Greeting, a.TimeoutPrompt = "main", "main"
	mustCreateIVR(t, s, a)
	b := newIVR("501", nil)
	b.InvalidPrompt = "main"
	mustCreateIVR(t, s, b)
	got, err := s.PromptUsers(ctx, "main")
	if want := []string{"ivr 500 greeting", "ivr 500 timeout_prompt", "ivr 501 invalid_prompt"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PromptUsers(main) = %q, %v; want %q", got, err, want)
	}
	if got, err := s.PromptUsers(ctx, "other"); err != nil || got != nil {
		t.Errorf("PromptUsers(other) = %q, %v", got, err)
	}
}
