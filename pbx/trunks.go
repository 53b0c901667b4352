package pbx

import (
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
	"github.com/officepbx/pbx/pbx/trunk"
)

// newTrunkManager makes the registration client of the engine's trunks;
// runTrunks starts it.
func (e *Engine) newTrunkManager() *trunk.Manager {
	return trunk.NewManager(trunk.Config{
		Client:    e.client,
		Contact:   func(tp string) sip.Uri { return e.contact(tp).Address },
		UserAgent: e.cfg.UserAgent,
		Log:       e.log.With("component", "trunk"),
		Timeout:   e.cfg.TrunkTimeout,
	})
}

// runTrunks keeps the trunk manager in step with the stored trunks: at
// start and after every trunk change, until the engine closes.
func (e *Engine) runTrunks() {
	kick := make(chan struct{}, 1)
	e.cfg.Store.Subscribe(func(ch store.Change) {
		if ch.Kind == "trunk" {
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.trunks.Close()
		for {
			list, err := e.cfg.Store.ListTrunks(e.ctx)
			if err == nil {
				e.trunks.Sync(list)
			} else if e.ctx.Err() == nil {
				e.log.Error("read trunks", "error", err)
			}
			select {
			case <-e.ctx.Done():
				return
			case <-kick:
			}
		}
	}()
}

// Trunks is the trunks' registration client: live status and metrics.
func (e *Engine) Trunks() *trunk.Manager { return e.trunks }
