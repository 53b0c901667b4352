package store

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestSIPSecuritySettings(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	got, err := st.SIPSecurity(ctx)
	if err != nil || !reflect.DeepEqual(got, DefaultSIPSecurity()) {
		t.Fatalf("defaults %+v, %v", got, err)
	}
	var changes []Change
	st.Subscribe(func(c Change) { changes = append(changes, c) })
	want := SIPSecurity{Allow: []AllowEntry{{CIDR: "10.0.0.0/8", Note: "office"}}, ScannerUserAgents: []string{"x"},
		RatePerSecond: 5, RateBurst: 50}
	if err := st.SetSIPSecurity(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err = st.SIPSecurity(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	if len(changes) != 1 || changes[0] != SIPSecurityChange {
		t.Errorf("changes %+v", changes)
	}
	// Emptied lists stay empty (not the defaults).
	if err := st.SetSIPSecurity(ctx, SIPSecurity{}); err != nil {
		t.Fatal(err)
	}
	if got, _ = st.SIPSecurity(ctx); len(got.Allow) != 0 || len(got.ScannerUserAgents) != 0 {
		t.Fatalf("emptied: %+v", got)
	}
	// A broken row: the defaults and an error, never a crash.
	if err := st.SetSetting(ctx, sipSecurityKey, "{broken"); err != nil {
		t.Fatal(err)
	}
	if got, err = st.SIPSecurity(ctx); err == nil || !reflect.DeepEqual(got, DefaultSIPSecurity()) {
		t.Fatalf("broken row: %+v, %v", got, err)
	}
}

func TestAuditLogPages(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		e := AuditEntry{At: at.Add(time.Duration(i) * time.Second), Username: []string{"admin", "ops"}[i%2], Method: "PUT",
			Path: "/api/v1/extensions/" + strconv.Itoa(100+i), Entity: "extensions/" + strconv.Itoa(100+i), RemoteIP: "192.0.2.1", Status: 200}
		if err := st.AddAudit(ctx, &e); err != nil || e.ID == 0 {
			t.Fatalf("add: %v (id %d)", err, e.ID)
		}
	}
	page1, next, err := st.ListAudit(ctx, AuditFilter{Limit: 3})
	if err != nil || len(page1) != 3 || next == "" || page1[0].Path != "/api/v1/extensions/104" || !page1[0].At.Equal(at.Add(4*time.Second)) {
		t.Fatalf("page 1: %+v %q %v", page1, next, err)
	}
	after, _ := strconv.ParseInt(next, 10, 64)
	page2, next, err := st.ListAudit(ctx, AuditFilter{Limit: 3, After: after})
	if err != nil || len(page2) != 2 || next != "" || page2[1].Path != "/api/v1/extensions/100" {
		t.Fatalf("page 2: %+v %q %v", page2, next, err)
	}
	ops, _, err := st.ListAudit(ctx, AuditFilter{Username: "ops"})
	if err != nil || len(ops) != 2 || ops[0].Username != "ops" {
		t.Fatalf("ops: %+v %v", ops, err)
	}
}
