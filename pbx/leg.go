package pbx

import (
	"context"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
)

// party is who is on one side of a call: for caller ID, the calls API,
// BLF and the CDR.
type party struct{ number, name string }

// legDialog is a phone's dialog with the PBX: the caller's (*inbound, the
// PBX is the UAS) or that of a phone the PBX called (*fork, the UAC). A
// transfer or a pickup may move it from one call, or one side, to another.
type legDialog interface {
	key() dialogKey
	// nextRequest builds a request inside the dialog with its next CSeq.
	nextRequest(method sip.RequestMethod) *sip.Request
	// ackRequest builds the ACK of a 2xx to the PBX's INVITE with CSeq seq.
	ackRequest(seq uint32) *sip.Request
	refreshTarget(req *sip.Request)
	bye(ctx context.Context) error
	// peer describes the phone: its Contact URI and where its SIP comes from.
	peer() (contact, source string)
}

// leg is one side of a call: a phone's media endpoint at the PBX and,
// once the phone answered, its dialog. The owning call's mu guards every
// field but owner, which the endpoint's callbacks read.
type leg struct {
	dlg    legDialog
	ep     *media.Endpoint
	who    party
	st     sideState
	hungUp bool // the phone sent BYE
	// base is what the endpoint had counted when the call's current
	// record began (a transfer starts a new one).
	base media.DirectionStats
	// transferring is set while this phone's REFER is being carried out:
	// its BYE then leaves the call to the transfer.
	transferring bool

	owner atomic.Pointer[legOwner]
}

// legOwner is the call a leg belongs to now, and its side there.
type legOwner struct {
	c    *call
	side media.Side
}

// newLeg starts a media endpoint for one side of a call on ports (which
// it owns from then on, even on error). Its dead-media and DTMF reports go
// to whichever call owns the leg at the time.
func (c *call) newLeg(side media.Side, ports *media.PortPair, o mediaOffer, who party) (*leg, error) {
	l := &leg{who: who}
	l.owner.Store(&legOwner{c: c, side: side})
	ep, err := media.NewEndpoint(media.EndpointConfig{
		Leg: media.LegConfig{Ports: ports, Remote: o.remote, RemoteRTCP: o.rtcp,
			PayloadType: pickCodec(o), EventPayloadType: o.eventPT, SRTP: o.srtp},
		MediaTimeout: c.e.cfg.MediaTimeout,
		InBandDTMF:   o.inband,
		OnTimeout: func() {
			if ow := l.owner.Load(); ow != nil {
				ow.c.stop(causeMediaTimeout)
			}
		},
		OnDigit: func(d media.Digit) {
			if ow := l.owner.Load(); ow != nil {
				ow.c.onDigit(ow.side, d, "rfc4733")
			}
		},
	})
	if err != nil {
		ports.Release()
		return nil, err
	}
	// In-band keys matter only while an application listens (runApps);
	// a conversation carries them through as audio.
	ep.SetInBandDTMF(false)
	l.ep = ep
	return l, nil
}

// newRingingLeg starts the leg of a side whose phones are about to be
// rung: no remote yet (the answer says where), the PBX's offer of both
// laws and telephone-event as its SDP, and no dead-media watch until the
// answer. It owns ports, even on error.
func (c *call) newRingingLeg(side media.Side, ports *media.PortPair, who party) (*leg, error) {
	l, err := c.newLeg(side, ports, mediaOffer{codecs: []uint8{media.PayloadPCMU}}, who)
	if err != nil {
		return nil, err
	}
	l.ep.SetReceiving(false)
	l.st.sdp = sdpParams{sessionID: newSessionID(), version: 1, addr: c.e.mediaIP, port: ports.RTPPort(),
		codecs: []uint8{media.PayloadPCMU, media.PayloadPCMA}, eventPT: telephoneEventPT}
	return l, nil
}

// leg returns the call's leg on one side (nil if none).
func (c *call) leg(side media.Side) *leg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.legs[side]
}

// currentLegLocked returns the leg on ref's side when ref's dialog is its
// phone's, else nil (the dialog left by transfer, or the side still
// rings); c.mu is held.
func (c *call) currentLegLocked(ref dialogRef) *leg {
	if l := c.legs[ref.side]; l != nil && l.dlg == ref.dlg() {
		return l
	}
	return nil
}

// endpoint returns the media endpoint of one side (nil if none).
func (c *call) endpoint(side media.Side) *media.Endpoint {
	if l := c.leg(side); l != nil {
		return l.ep
	}
	return nil
}

// legMedia is the media of an answered call: whatever legs it has when it
// ends. Endpoints of legs that left the call earlier (a transfer) were
// closed then, their figures kept in retired.
type legMedia struct{ c *call }

func (m legMedia) Close() error {
	m.c.mu.Lock()
	legs := m.c.legs
	m.c.mu.Unlock()
	for _, l := range legs {
		if l != nil {
			l.ep.Close()
		}
	}
	return nil
}

func (m legMedia) Stats() media.Stats {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	return m.c.statsLocked()
}

// statsLocked is the media figures of the call's current record: its
// phones' counts since the record began, and those of phones that left.
func (c *call) statsLocked() media.Stats {
	st := c.retired
	if l := c.legs[media.SideA]; l != nil {
		st.AToB = addStats(st.AToB, l.sinceBase())
	}
	if l := c.legs[media.SideB]; l != nil {
		st.BToA = addStats(st.BToA, l.sinceBase())
	}
	return st
}

// sinceBase is what the leg's phone sent since the call's record began.
func (l *leg) sinceBase() media.DirectionStats {
	s := l.ep.Stats()
	s.Packets -= l.base.Packets
	s.Bytes -= l.base.Bytes
	s.Lost -= l.base.Lost
	s.Dropped -= l.base.Dropped
	s.RTCPPackets -= l.base.RTCPPackets
	s.Digits -= l.base.Digits
	return s
}

// addStats sums two phones' counters, as one side of a call that changed
// phones.
func addStats(a, b media.DirectionStats) media.DirectionStats {
	a.Packets += b.Packets
	a.Bytes += b.Bytes
	a.Lost += b.Lost
	a.Dropped += b.Dropped
	a.RTCPPackets += b.RTCPPackets
	a.Digits += b.Digits
	a.Jitter = max(a.Jitter, b.Jitter)
	return a
}
