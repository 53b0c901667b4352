package pbx

import (
	"github.com/officepbx/pbx/media"
)

// setupEcho answers a call to the echo test: the caller's audio is sent
// back to it until it hangs up (or its media stops). It owns ports.
func (c *call) setupEcho(offer mediaOffer, ports *media.PortPair) (bridge, failure, bool) {
	echo, err := media.NewEcho(media.EchoConfig{
		Leg: media.LegConfig{Ports: ports, Remote: offer.remote, RemoteRTCP: offer.rtcp,
			PayloadType: pickCodec(offer), EventPayloadType: offer.eventPT},
		MediaTimeout: c.e.cfg.MediaTimeout,
		OnTimeout:    func(media.Side) { c.stop(causeMediaTimeout) },
		OnDigit:      func(s media.Side, d media.Digit) { c.onDigit(s, d, "rfc4733") },
	})
	if err != nil {
		ports.Release()
		c.log.Error("echo test failed", "error", err)
		return bridge{}, failureFor(err), false
	}
	b := bridge{media: echo}
	c.mu.Lock()
	c.sides[media.SideA].sdp = c.callerSDP(offer, ports.RTPPort())
	c.mu.Unlock()
	if fail, ok := c.answerCaller(b, offer); !ok {
		echo.Close()
		return bridge{}, fail, false
	}
	return b, failure{}, true
}
