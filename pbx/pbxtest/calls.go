package pbxtest

import (
	"context"
	"fmt"

	"github.com/officepbx/pbx/pbx/store"
)

// WaitIdle waits until the PBX has no live call: every call has answered
// or hung up its phones, released its media ports and queued its CDR.
func (p *PBX) WaitIdle(ctx context.Context) error {
	eng := p.App.Engine
	changed, stop := eng.WatchCalls()
	defer stop()
	for len(eng.Calls()) > 0 {
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("calls still live: %+v: %w", eng.Calls(), ctx.Err())
		}
	}
	return nil
}

// CDRs writes pending call records and returns them, newest first.
func (p *PBX) CDRs(ctx context.Context) []store.CDR {
	p.t.Helper()
	if err := p.App.Engine.FlushCDRs(ctx); err != nil {
		p.t.Fatalf("flush CDRs: %v", err)
	}
	cdrs, _, err := p.App.Store.ListCDRs(ctx, store.CDRFilter{Limit: 100})
	if err != nil {
		p.t.Fatalf("list CDRs: %v", err)
	}
	return cdrs
}

// LastCDR waits for the PBX to be idle and returns the newest call record;
// it fails the test if a media port is still allocated.
func (p *PBX) LastCDR(ctx context.Context) store.CDR {
	p.t.Helper()
	if err := p.WaitIdle(ctx); err != nil {
		p.t.Fatal(err)
	}
	if n := p.App.Engine.RTPPortsInUse(); n != 0 {
		p.t.Errorf("%d RTP port pairs still allocated after the calls ended", n)
	}
	cdrs := p.CDRs(ctx)
	if len(cdrs) == 0 {
		p.t.Fatal("no CDR written")
	}
	return cdrs[0]
}
