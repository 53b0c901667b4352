package pbx

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// referNotifyTimeout bounds the wait for a transferor's answer to a
// NOTIFY of its transfer's progress.
const referNotifyTimeout = 5 * time.Second

// referral is a REFER being carried out: the transferor's leg, on which
// side of which call, and how to report progress to it (RFC 3515 NOTIFY
// with a message/sipfrag body, unless it asked for none, RFC 4488).
type referral struct {
	c      *call
	side   media.Side
	from   *leg
	notify bool
}

// onRefer handles REFER inside a call: a blind transfer (Refer-To names a
// number) or an attended one (Refer-To carries Replaces naming the
// transferor's other call). The checks that need no waiting are made
// before the 202; the transfer then runs on its own goroutine and reports
// by NOTIFY.
func (e *Engine) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := e.requestDialog(req)
	if !ok {
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	hdrs := req.GetHeaders("Refer-To")
	if len(hdrs) != 1 {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (one Refer-To required)", nil)
		return
	}
	rt, err := parseReferTo(hdrs[0].Value())
	if err != nil {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request ("+err.Error()+")", nil)
		return
	}
	var joined dialogRef
	if rt.replaces != nil {
		if joined, ok = e.replacedDialog(*rt.replaces); !ok {
			e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist (Replaces)", nil)
			return
		}
		if joined.call == ref.call {
			e.respond(tx, req, sip.StatusForbidden, "Forbidden (Replaces names this call)", nil)
			return
		}
	}
	c := ref.call
	r := &referral{c: c, side: ref.side, notify: !strings.EqualFold(headerValue(req, "Refer-Sub"), "false")}
	c.mu.Lock()
	l := c.currentLegLocked(ref)
	switch {
	case c.state != CallAnswered || l == nil:
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	case c.legs[1-ref.side] == nil || c.legs[1-ref.side].dlg == nil:
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusForbidden, "Forbidden (nobody to transfer)", nil)
		return
	case c.transfers > 0:
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusRequestPending, "Request Pending (a transfer is under way)", nil)
		return
	}
	r.from = l
	l.transferring = true
	c.transfers++
	// Under c.mu while the call is answered: its own count on the wait
	// group is held, so this Add cannot race with shutdown's Wait.
	e.calls.wg.Add(1)
	c.mu.Unlock()

	res := e.dialogResponse(req, sip.StatusAccepted, "Accepted", nil)
	if !r.notify {
		res.AppendHeader(sip.NewHeader("Refer-Sub", "false"))
	}
	if err := tx.Respond(res); err != nil {
		c.log.Debug("answer REFER failed", "error", err)
	}
	c.log.Info("transfer", "by", l.who.number, "to", rt.number, "attended", rt.replaces != nil)
	go func() {
		defer e.calls.wg.Done()
		defer c.endTransfer(r)
		if rt.replaces != nil {
			c.attendedTransfer(r, joined)
			return
		}
		c.blindTransfer(r, rt.number)
	}()
}

func headerValue(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return strings.TrimSpace(h.Value())
	}
	return ""
}

// endTransfer clears the marks of a transfer that is over.
func (c *call) endTransfer(r *referral) {
	c.mu.Lock()
	c.transfers--
	r.from.transferring = false
	c.mu.Unlock()
}

// report sends the transferor a NOTIFY of the transfer's progress: the
// status line of the target's answer as message/sipfrag; a final one ends
// the implicit subscription (RFC 3515 §2.4.4-5).
func (r *referral) report(code int, reason string, final bool) {
	if !r.notify {
		return
	}
	req := r.from.dlg.nextRequest(sip.NOTIFY)
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n"))
	ctx, cancel := context.WithTimeout(r.c.e.ctx, referNotifyTimeout)
	defer cancel()
	res, err := r.c.e.client.Do(ctx, req)
	if err != nil {
		r.c.log.Debug("NOTIFY of transfer failed", "error", err)
		return
	}
	if res.StatusCode >= 300 {
		r.c.log.Debug("NOTIFY of transfer refused", "code", res.StatusCode)
	}
}

// hangUpTransferor ends the transferor's dialog once its call went on
// without it (it may well hang up by itself first).
func (r *referral) hangUpTransferor() {
	r.c.mu.Lock()
	hungUp := r.from.hungUp
	r.c.mu.Unlock()
	if !hungUp {
		r.c.byeAsync(r.from.dlg)
	}
}

// blindTransfer calls number for the transferee, who hears ringback
// meanwhile; the first phone to answer takes the transferor's place. If
// nobody answers, the transferee goes back to the transferor: to its call
// if it is still on it, else by calling it back.
func (c *call) blindTransfer(r *referral, number string) {
	r.report(sip.StatusTrying, "Trying", false)
	c.transferTo(r, number)
}

// transferTo carries out a blind transfer to number once accepted.
func (c *call) transferTo(r *referral, number string) {
	if dest, ok := c.appDestination(r, number); ok {
		if c.transferToApp(r, dest) {
			r.report(sip.StatusOK, "OK", true)
			r.hangUpTransferor()
		} else {
			r.report(sip.StatusRequestTerminated, "Request Terminated", true)
		}
		return
	}
	tgt, err := c.e.route(c.e.ctx, number, time.Now())
	ok, fail := c.replaceByCall(r.side, r.from, tgt, err, func() { r.report(sip.StatusRinging, "Ringing", false) })
	if ok {
		r.report(sip.StatusOK, "OK", true)
		r.hangUpTransferor()
		return
	}
	r.report(fail.code, fail.reason, true)
	c.mu.Lock()
	current, hungUp := c.legs[r.side] == r.from && c.state == CallAnswered, r.from.hungUp
	c.mu.Unlock()
	switch {
	case !current:
	case !hungUp:
		c.log.Info("transfer failed; back to the transferor", "code", fail.code)
		c.rehold()
	default:
		c.log.Info("transfer failed; calling the transferor back", "code", fail.code)
		tgt, err := c.e.route(c.e.ctx, r.from.who.number, time.Now())
		if ok, fail := c.replaceByCall(r.side, r.from, tgt, err, nil); !ok {
			c.log.Info("transfer recall failed", "code", fail.code, "cause", fail.cause)
			c.stop(causeTransferFailed)
		}
	}
}

// replaceByCall rings a routed target (following its forwards) for one
// side of the call, with the other side's caller ID, and puts the phone
// that answers in old's place. The other side hears ringback meanwhile,
// then what its hold state says.
func (c *call) replaceByCall(side media.Side, old *leg, tgt target, routeErr error, ringing func()) (bool, failure) {
	e := c.e
	other := c.leg(1 - side)
	if other == nil {
		return false, failureFor(errUnknownNumber)
	}
	ports, err := e.ports.Allocate()
	if err != nil {
		return false, failureFor(err)
	}
	nl, err := c.newRingingLeg(side, ports, party{number: tgt.ext.Number})
	if err != nil {
		return false, failureFor(err)
	}
	nl.owner.Store(nil) // not on the call until it answers
	rb := other.ep.Play(media.NewToneSource(media.Ringback()))
	stopRingback := func() {
		rb.Stop()
		c.mu.Lock()
		if other.st.moh != nil && ended(other.st.moh) {
			other.st.moh = nil // the ringback replaced it
		}
		c.mu.Unlock()
	}
	res, fail, ok := c.ringFollowing(tgt, routeErr, side, other.who, buildSDP(nl.st.sdp), ringHooks{ringing: ringing})
	if ok && res.winner == nil {
		ok, fail = false, failureFor(errUnknownNumber) // only a call's own ringing is picked up
	}
	if !ok {
		stopRingback()
		nl.ep.Close()
		return false, fail
	}
	w := res.winner
	c.mu.Lock()
	nl.dlg, nl.who = w, party{w.number, w.name}
	c.mu.Unlock()
	if err := nl.ep.Update(legConfig(w.answer)); err != nil {
		stopRingback()
		nl.ep.Close()
		c.byeAsync(w)
		return false, failureFor(err)
	}
	nl.ep.SetReceiving(true)
	stopRingback()
	if !c.swapLeg(side, old, nl) {
		nl.ep.Close()
		c.byeAsync(w)
		return false, failure{code: sip.StatusRequestTerminated, reason: "Request Terminated", cause: causeTransferFailed}
	}
	c.mu.Lock()
	hungUp := w.byeReceived
	c.mu.Unlock()
	if hungUp {
		c.stop(causeCalleeHungUp)
	}
	return true, failure{}
}

// errTransferGone means the call an attended transfer joins ended or
// changed before it could be joined.
var errTransferGone = errors.New("the call to join is gone")

// attendedTransfer joins the transferor's two calls: the other party of
// the call the REFER came in takes the place of the transferor's dialog
// named by Replaces (its other call), and both of the transferor's
// dialogs end.
func (c *call) attendedTransfer(r *referral, joined dialogRef) {
	r.report(sip.StatusTrying, "Trying", false)
	c2, side2 := joined.call, joined.side
	if number, ok := c2.ringingFor(joined); ok {
		// The transferor's other call still rings (a transfer before the
		// target answered): that call ends, and this one rings the target
		// for the transferee instead.
		c2.stop(causeTransferred)
		c.transferTo(r, number)
		return
	}
	moved, err := c2.detachOther(side2, joined.dlg())
	if err != nil {
		c.log.Info("attended transfer failed", "error", err)
		r.report(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", true)
		return
	}
	if !c.swapLeg(r.side, r.from, moved) {
		// This call ended meanwhile: the moved phone has nobody left.
		moved.ep.Close()
		c.byeAsync(moved.dlg)
		c2.stop(causeTransferred)
		r.report(sip.StatusRequestTerminated, "Request Terminated", true)
		return
	}
	c2.stop(causeTransferred) // hangs up the transferor's other dialog
	r.report(sip.StatusOK, "OK", true)
	r.hangUpTransferor()
}

// ringingFor reports whether the call is still ringing with ref as its
// caller's dialog, and the number it rings.
func (c *call) ringingFor(ref dialogRef) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref.in != c.in || (c.state != CallSetup && c.state != CallRinging) {
		return "", false
	}
	return c.dialed, true
}

// detachOther takes the phone on the other side from dlg (on side) out of
// the call, for an attended transfer to join it to another call; the call
// keeps the figures of its media so far.
func (c *call) detachOther(side media.Side, dlg legDialog) (*leg, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, o := c.legs[side], c.legs[1-side]
	if c.state != CallAnswered || l == nil || l.dlg != dlg || o == nil || o.dlg == nil || c.transfers > 0 {
		return nil, errTransferGone
	}
	if side == media.SideA {
		c.retired.BToA = addStats(c.retired.BToA, o.sinceBase())
	} else {
		c.retired.AToB = addStats(c.retired.AToB, o.sinceBase())
	}
	c.legs[1-side] = nil
	o.owner.Store(nil)
	l.ep.Unbridge()
	return o, nil
}

// appDestination reports whether number, as the transferor dials it,
// reaches an application that answers by itself (an IVR menu, a voicemail
// box, a conference room, the transferor's three-way room) rather than
// phones.
func (c *call) appDestination(r *referral, number string) (dialplan.Destination, bool) {
	e := c.e
	who, err := e.exts.get(e.ctx, r.from.who.number)
	if err != nil {
		who = store.Extension{Number: r.from.who.number, Name: r.from.who.name}
	}
	atts, err := e.expand(e.ctx, who, attempt{dest: dialplan.Destination{Kind: dialplan.KindNumber, Number: number}}, 0)
	if err != nil || len(atts) == 0 {
		return dialplan.Destination{}, false
	}
	a := atts[0]
	switch {
	case e.cfg.Apps[a.dest.Kind] == nil:
		return dialplan.Destination{}, false
	case a.dest.Kind == dialplan.KindConference, a.dest.Kind == dialplan.KindIVR:
	case a.dest.Kind == dialplan.KindVoicemail && !a.feature: // a box, not *97/*98
	default:
		return dialplan.Destination{}, false
	}
	return a.dest, true
}

// transferToApp hands the transferee (the phone on the other side from
// the transferor) to an application destination, as a call the PBX
// answered: the call's record so far ends "transferred", a new one starts
// from the transferee, who moves to side A if need be, hears no more music
// on hold (and is told it is not held), and the application runs on its
// own goroutine. It reports false, changing nothing, if the call ended or
// changed meanwhile.
func (c *call) transferToApp(r *referral, dest dialplan.Destination) bool {
	e := c.e
	c.mu.Lock()
	stay := c.legs[1-r.side]
	if c.state != CallAnswered || c.legs[r.side] != r.from || stay == nil || stay.dlg == nil {
		c.mu.Unlock()
		return false
	}
	who := stay.who
	c.mu.Unlock()
	caller := callapp.Party{Number: who.number, Name: who.name}
	if ext, err := e.exts.get(e.ctx, who.number); err == nil {
		caller = callapp.Party{Number: ext.Number, Name: ext.Name}
	}

	now := time.Now()
	c.mu.Lock()
	if c.state != CallAnswered || c.legs[r.side] != r.from || c.legs[1-r.side] != stay {
		c.mu.Unlock()
		return false
	}
	stats := c.statsLocked()
	rec := c.cdrLocked(store.DispositionAnswered, causeTransferred, &stats)
	r.from.owner.Store(nil)
	c.legs[media.SideA], c.legs[media.SideB] = stay, nil
	stay.owner.Store(&legOwner{c: c, side: media.SideA})
	c.retired = media.Stats{}
	stay.base = stay.ep.Stats()
	if stay.st.moh != nil {
		stay.st.moh.Stop()
		stay.st.moh = nil
	}
	c.appCaller = &caller
	c.from, c.to, c.callerSide = who, party{number: dest.Number}, media.SideA
	c.startedAt, c.answeredAt = now, now
	done := make(chan struct{})
	c.appDone = done
	// Under c.mu while the call is answered: its own count on the wait
	// group is held, so this Add cannot race with shutdown's Wait.
	e.calls.wg.Add(1)
	c.mu.Unlock()

	e.cdrs.add(rec)
	e.calls.addDialog(stay.dlg.key(), refFor(c, media.SideA, stay.dlg))
	stay.ep.Unbridge()
	r.from.ep.Close()
	c.keys.Flush()
	c.log.Info("transferred to an application", "who", who.number, "destination", dest.String())
	e.callWatch.notify()
	c.indicate(media.SideA) // no longer held, if it was told so
	go func() {
		defer e.calls.wg.Done()
		defer close(done)
		c.runApps(dest)
	}()
	return true
}
