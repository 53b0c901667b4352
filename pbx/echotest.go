package pbx

import (
	"github.com/officepbx/pbx/media"
)

// setupEcho answers a call to the echo test: the caller's audio is sent
// back to it until it hangs up (or its media stops). It owns ports.
func (c *call) setupEcho(offer mediaOffer, ports *media.PortPair) (bridge, failure, bool) {
	_, b, fail, ok := c.answerAlone(offer, ports, true)
	return b, fail, ok
}

// answerAlone answers a call the PBX serves by itself (the echo test, a
// feature code) on one media endpoint, bridged to itself for an echo. It
// owns ports.
func (c *call) answerAlone(offer mediaOffer, ports *media.PortPair, echo bool) (*media.Endpoint, bridge, failure, bool) {
	ep, err := media.NewEndpoint(media.EndpointConfig{
		Leg: media.LegConfig{Ports: ports, Remote: offer.remote, RemoteRTCP: offer.rtcp,
			PayloadType: pickCodec(offer), EventPayloadType: offer.eventPT},
		MediaTimeout: c.e.cfg.MediaTimeout,
		OnTimeout:    func() { c.stop(causeMediaTimeout) },
		OnDigit:      func(d media.Digit) { c.onDigit(media.SideA, d, "rfc4733") },
	})
	if err != nil {
		ports.Release()
		c.log.Error("media endpoint failed", "error", err)
		return nil, bridge{}, failureFor(err), false
	}
	if echo {
		media.Bridge(ep, ep)
	}
	b := bridge{media: endpointMedia{ep}}
	c.mu.Lock()
	c.sides[media.SideA].sdp = c.callerSDP(offer, ports.RTPPort())
	c.mu.Unlock()
	if fail, ok := c.answerCaller(b, offer); !ok {
		ep.Close()
		return nil, bridge{}, fail, false
	}
	return ep, b, failure{}, true
}

// endpointMedia is the media of a call the PBX answers alone.
type endpointMedia struct{ *media.Endpoint }

func (m endpointMedia) Stats() media.Stats { return media.Stats{AToB: m.Endpoint.Stats()} }
