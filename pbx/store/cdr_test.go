package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

func TestCDRInsertAndList(t *testing.T) {
	st := openCDRStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var cdrs []CDR
	for i := 0; i < 25; i++ {
		c := CDR{CallID: "c" + strconv.Itoa(i), Caller: "101", Callee: "102", StartedAt: base.Add(time.Duration(i) * time.Minute),
			Disposition: DispositionNoAnswer, HangupCause: "no answer"}
		if i%5 == 0 {
			c.Callee = "103"
		}
		if i%2 == 0 {
			c.AnsweredAt = c.StartedAt.Add(3 * time.Second)
			c.Disposition, c.HangupCause, c.RTPPackets, c.RTPLost, c.JitterMs = DispositionAnswered, "caller hung up", 1000, 2, 1.5
		}
		c.EndedAt = c.StartedAt.Add(30 * time.Second)
		cdrs = append(cdrs, c)
	}
	if err := st.InsertCDRs(ctx, cdrs); err != nil {
		t.Fatal(err)
	}
	if cdrs[24].ID == 0 {
		t.Fatal("IDs not set")
	}

	// Paging newest first sees every row once.
	var seen []CDR
	cursor := int64(0)
	for {
		page, next, err := st.ListCDRs(ctx, CDRFilter{Limit: 10, After: cursor})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, page...)
		if next == "" {
			break
		}
		cursor, _ = strconv.ParseInt(next, 10, 64)
	}
	if len(seen) != 25 || seen[0].CallID != "c24" || seen[24].CallID != "c0" {
		t.Fatalf("paging saw %d rows, first %s", len(seen), seen[0].CallID)
	}
	got := seen[24]
	want := cdrs[0]
	want.StartedAt, want.AnsweredAt, want.EndedAt = want.StartedAt.UTC(), want.AnsweredAt.UTC(), want.EndedAt.UTC()
	if got != want {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got.Billsec() != 27*time.Second || got.Duration() != 30*time.Second || seen[23].Billsec() != 0 {
		t.Fatalf("billsec %v duration %v unanswered billsec %v", got.Billsec(), got.Duration(), seen[23].Billsec())
	}

	// Filters: number (either side) and a time window.
	page, _, err := st.ListCDRs(ctx, CDRFilter{Number: "103"})
	if err != nil || len(page) != 5 {
		t.Fatalf("number filter: %d rows, %v", len(page), err)
	}
	page, _, err = st.ListCDRs(ctx, CDRFilter{From: base.Add(10 * time.Minute), To: base.Add(15 * time.Minute)})
	if err != nil || len(page) != 5 || page[0].CallID != "c14" || page[4].CallID != "c10" {
		t.Fatalf("time window: %+v, %v", page, err)
	}
}

func openCDRStore(t *testing.T) *Store {
	t.Helper()
	st, err := Open(context.Background(), t.TempDir()+"/pbx.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
