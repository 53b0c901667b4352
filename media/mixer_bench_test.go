package media

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
)

// BenchmarkMixerTick measures one 20 ms frame of the mixer: every
// participant's frame written into its jitter buffer (the endpoint's side
// of the AudioSink) and the tick that reads, ranks, mixes, limits and
// delivers it, to outputs that discard it (sending is the endpoint's
// cost). Each room has 3 talkers; the rest send quiet noise (-66 dBFS),
// as phones do between words. "encoded" outputs take shared G.711
// encodes, half PCMU, half PCMA. Reported: ns per participant per frame,
// and the participants one core would carry in a 20 ms tick at that cost.
func BenchmarkMixerTick(b *testing.B) {
	for _, c := range []struct{ rooms, size int }{{50, 10}, {1, 200}, {1, 500}} {
		for _, encoded := range []bool{false, true} {
			name := fmt.Sprintf("rooms=%dx%d/encoded=%v", c.rooms, c.size, encoded)
			b.Run(name, func(b *testing.B) { benchMixer(b, c.rooms, c.size, encoded) })
		}
	}
}

func benchMixer(b *testing.B, rooms, size int, encoded bool) {
	m := NewMixer(MixerOptions{})
	noise := make([]int16, FrameSamples)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = int16(rng.IntN(33) - 16)
	}
	talk := [][]int16{sine(440, 6000, 0, FrameSamples), sine(770, 5000, 0, FrameSamples), sine(1209, 4000, 0, FrameSamples)}
	type feed struct {
		p     *Participant
		frame []int16
	}
	var feeds []feed
	for range rooms {
		r := m.NewRoom()
		for i := range size {
			var o ParticipantOutput = nopOutput{}
			if encoded {
				o = nopEncoded{pt: []uint8{PayloadPCMU, PayloadPCMA}[i%2]}
			}
			f := feed{p: r.Join(o, JoinOptions{}), frame: noise}
			if i < len(talk) {
				f.frame = talk[i]
			}
			feeds = append(feeds, f)
		}
	}
	n := len(feeds)
	step := func() {
		for _, f := range feeds {
			f.p.WriteAudio(f.frame)
		}
		m.tick()
	}
	for range 5 { // fill the jitter buffers
		step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		step()
	}
	perParticipant := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
	b.ReportMetric(perParticipant, "ns/participant")
	b.ReportMetric(float64(DefaultMixPeriod.Nanoseconds())/perParticipant, "participants/core")
}

// BenchmarkMixerTickEndpoints is BenchmarkMixerTick with real Endpoints as
// outputs: each tick also sends every participant's packet over loopback
// UDP (shared encodes, the endpoint's sequencer, one sendto each), to a
// socket nobody reads. That send, not the mix, is most of a conference's
// cost.
func BenchmarkMixerTickEndpoints(b *testing.B) {
	for _, c := range []struct{ rooms, size int }{{50, 10}, {1, 200}} {
		b.Run(fmt.Sprintf("rooms=%dx%d", c.rooms, c.size), func(b *testing.B) {
			alloc := newAllocator(b)
			sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			dst := sink.LocalAddr().(*net.UDPAddr).AddrPort()
			m := NewMixer(MixerOptions{})
			talk := sine(440, 6000, 0, FrameSamples)
			quiet := make([]int16, FrameSamples)
			var ps []*Participant
			var speaking []bool
			for range c.rooms {
				r := m.NewRoom()
				for i := range c.size {
					pp, err := alloc.Allocate()
					if err != nil {
						b.Fatal(err)
					}
					ep, err := NewEndpoint(EndpointConfig{Leg: LegConfig{Ports: pp, Remote: dst, PayloadType: []uint8{PayloadPCMU, PayloadPCMA}[i%2]}})
					if err != nil {
						b.Fatal(err)
					}
					defer ep.Close()
					ps = append(ps, r.Join(ep, JoinOptions{}))
					speaking = append(speaking, i < 3)
				}
			}
			step := func() {
				for i, p := range ps {
					if speaking[i] {
						p.WriteAudio(talk)
					} else {
						p.WriteAudio(quiet)
					}
				}
				m.tick()
			}
			for range 5 {
				step()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				step()
			}
			perParticipant := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(len(ps))
			b.ReportMetric(perParticipant, "ns/participant")
			b.ReportMetric(float64(DefaultMixPeriod.Nanoseconds())/perParticipant, "participants/core")
		})
	}
}
