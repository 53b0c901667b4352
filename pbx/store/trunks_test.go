package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/officepbx/pbx/dialplan"
)

func TestTrunkCRUDAndInUse(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	tr := Trunk{Name: "pstn", Host: "sip.example.net", Username: "acme", Secret: "s3cret", Register: true,
		Context: "from-pstn", Match: []string{"203.0.113.0/24", "198.51.100.7:5060"}}
	if err := s.CreateTrunk(ctx, &tr); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTrunk(ctx, &Trunk{Name: "pstn", Host: "x"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v, want ErrExists", err)
	}
	got, err := s.GetTrunk(ctx, "pstn")
	if err != nil || got.Port != 5060 || got.Transport != "udp" || got.ExpiresSeconds != 300 || got.Secret != "s3cret" ||
		len(got.Match) != 2 || got.Match[1] != "198.51.100.7:5060" || !got.Register {
		t.Fatalf("got %+v, %v", got, err)
	}
	got.FromUser = "4930123456"
	if err := s.UpdateTrunk(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListTrunks(ctx); err != nil || len(list) != 1 || list[0].FromUser != "4930123456" {
		t.Fatalf("list %+v, %v", list, err)
	}
	// A trunk destination is valid now that the trunk exists.
	if msg, err := s.DestinationProblem(ctx, "trunk:pstn:112", ""); msg != "" || err != nil {
		t.Fatalf("trunk:pstn:112: %q %v", msg, err)
	}
	dir, err := s.Directory(ctx)
	if err != nil || !dir.Exists(dialplan.Destination{Kind: dialplan.KindTrunk, Trunk: "pstn"}) ||
		dir.Exists(dialplan.Destination{Kind: dialplan.KindTrunk, Trunk: "gsm"}) {
		t.Fatalf("directory: %v", err)
	}
	plan := "context internal {\n    rule _9X. {\n        strip 1\n        dial trunk:pstn:${number}\n    }\n}\n"
	if _, err := s.SetDialplan(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	err = s.DeleteTrunk(ctx, "pstn")
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "dial plan line 4") {
		t.Fatalf("delete while the plan dials it: %v", err)
	}
	if _, err := s.SetDialplan(ctx, "context internal { }\n", "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTrunk(ctx, "pstn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTrunk(ctx, "pstn"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
