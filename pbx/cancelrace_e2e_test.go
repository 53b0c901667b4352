package pbx_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// A caller's CANCEL racing its callee's 200 OK, many calls at once (issue
// 14: callers gave up while the callee's answer was never completed).
// Whichever wins, the callee's 200 is ACKed: if the caller's CANCEL won
// (487), the PBX then hangs the callee up with BYE (RFC 3261 9.1, 15); if
// the answer won (200), the call is up and ends with the caller's BYE.
// Nothing is left in the calls table either way.
func TestCallCancelRacesAnswer(t *testing.T) {
	const pairs, rounds = 8, 5
	p := pbxtest.Start(t)
	type pair struct {
		caller, callee *pbxtest.UA
		dialed         chan *pbxtest.Call // the caller's pending call, for the callee's hook
	}
	ps := make([]pair, pairs)
	for i := range ps {
		ps[i].caller = phone(t, p, p.CreateExtension(fmt.Sprint(200+i), nil))
		ps[i].callee = phone(t, p, p.CreateExtension(fmt.Sprint(300+i), nil))
		ps[i].dialed = make(chan *pbxtest.Call, 1)
		dialed := ps[i].dialed
		ps[i].callee.SetPolicy(pbxtest.Policy{BeforeAnswer: func(*pbxtest.Call) {
			caller := <-dialed
			go func() { _ = caller.Cancel(ctx(t)) }() // answered 200 or 481: either may win
		}})
	}
	var mu sync.Mutex
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(1)
		go func(pr pair, number string) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				c, err := pr.caller.Invite(ctx(t), number)
				if err != nil {
					t.Error(err)
					return
				}
				pr.dialed <- c
				in, err := pr.callee.NextCall(ctx(t))
				if err != nil {
					t.Error(err)
					return
				}
				code, err := c.WaitFinal(ctx(t))
				if err != nil {
					t.Errorf("caller of %s: %v", number, err)
					return
				}
				calleeCode, err := in.WaitFinal(ctx(t))
				if err != nil {
					t.Errorf("callee %s: %v", number, err)
					return
				}
				if calleeCode == sip.StatusOK {
					if err := in.WaitAcked(ctx(t)); err != nil {
						t.Errorf("callee %s answered, caller got %d: %v", number, code, err)
						return
					}
				}
				switch code {
				case sip.StatusOK:
					if err := c.Hangup(ctx(t)); err != nil {
						t.Errorf("caller of %s hangs up: %v", number, err)
						return
					}
				case sip.StatusRequestTerminated:
				default:
					t.Errorf("caller of %s got %d, want 200 or 487", number, code)
					return
				}
				if calleeCode == sip.StatusOK {
					if err := in.WaitEnded(ctx(t)); err != nil {
						t.Errorf("callee %s answered, caller got %d: %v", number, code, err)
						return
					}
				}
				mu.Lock()
				outcomes[fmt.Sprintf("caller %d, callee %d", code, calleeCode)]++
				mu.Unlock()
			}
		}(ps[i], fmt.Sprint(300+i))
	}
	wg.Wait()
	t.Logf("outcomes: %v", outcomes)
	if err := p.WaitIdle(ctx(t)); err != nil {
		t.Fatal(err)
	}
}
