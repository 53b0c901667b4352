package media

// DTMFDetector turns a stream of RFC 4733 telephone-event packets into key
// presses, reporting each press exactly once through OnDigit.
//
// All packets of one event share its RTP timestamp (RFC 4733 §2.5.1), so a
// press is keyed by (SSRC, timestamp). It is reported at its first end
// packet, which carries the full duration; the end packet's retransmissions
// and duplicates are ignored. If every end packet is lost, the press is
// reported when the next event begins, or by Flush.
//
// A DTMFDetector is not safe for concurrent use; the relay keeps one per
// direction, used only by that direction's goroutine. The zero value is
// ready to use once OnDigit is set.
type DTMFDetector struct {
	// OnDigit receives each press. It runs on the caller's goroutine.
	OnDigit func(Digit)

	active   bool // an event has begun and not been reported
	cur      key
	curEvent TelephoneEvent

	done bool // last is a reported event
	last key
}

type key struct{ ssrc, ts uint32 }

// Push feeds one telephone-event packet: the RTP SSRC and timestamp of its
// header and its parsed payload. Events above 16 (not DTMF keys) are ignored.
func (d *DTMFDetector) Push(ssrc, timestamp uint32, ev TelephoneEvent) {
	if ev.Event > 16 {
		return
	}
	k := key{ssrc, timestamp}
	if d.done && k == d.last {
		return // a retransmitted end or a late duplicate
	}
	if d.active && k != d.cur {
		d.Flush() // the previous event lost all its end packets
	}
	if !d.active {
		d.active, d.cur = true, k
	}
	if ev.Duration >= d.curEvent.Duration || ev.Event != d.curEvent.Event {
		d.curEvent = ev
	}
	if ev.End {
		d.Flush()
	}
}

// Flush reports an event that has begun but not ended, if any. Call it when
// the stream stops (the relay does so when it closes).
func (d *DTMFDetector) Flush() {
	if !d.active {
		return
	}
	dg := Digit{Event: d.curEvent.Event, Duration: d.curEvent.Duration}
	d.active, d.done, d.last = false, true, d.cur
	d.curEvent = TelephoneEvent{}
	if d.OnDigit != nil {
		d.OnDigit(dg)
	}
}
