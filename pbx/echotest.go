package pbx

import (
	"github.com/officepbx/pbx/media"
)

// setupEcho answers a call to the echo test: the caller's audio is sent
// back to it until it hangs up (or its media stops). It owns ports.
func (c *call) setupEcho(offer mediaOffer, ports *media.PortPair) (failure, bool) {
	_, fail, ok := c.answerAlone(offer, ports, true)
	return fail, ok
}

// answerAlone answers a call the PBX serves by itself (the echo test, a
// feature code) on one leg, bridged to itself for an echo. It owns ports.
func (c *call) answerAlone(offer mediaOffer, ports *media.PortPair, echo bool) (*media.Endpoint, failure, bool) {
	l, err := c.newLeg(media.SideA, ports, offer, c.from)
	if err != nil {
		c.log.Error("media endpoint failed", "error", err)
		return nil, failureFor(err), false
	}
	if echo {
		media.Bridge(l.ep, l.ep)
	}
	l.dlg = c.in
	l.st.sdp = c.answerSDP(offer, ports.RTPPort())
	c.mu.Lock()
	c.legs[media.SideA] = l
	c.mu.Unlock()
	if fail, ok := c.answerCaller(offer); !ok {
		l.ep.Close()
		return nil, fail, false
	}
	return l.ep, failure{}, true
}
