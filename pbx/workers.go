package pbx

import (
	"context"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// workers run short request handlers (REGISTER, OPTIONS) on long-lived
// goroutines. sipgo starts a fresh goroutine per request; its small initial
// stack grew three times on the way into the registrar, and that stack
// copying cost a tenth of the CPU under load. A worker grows its stack once
// and keeps it. Handlers that live as long as a transaction or a call
// (INVITE) must not run here: they would starve the pool.
type workers struct {
	jobs chan *job
	pool sync.Pool
}

type job struct {
	h    func(*sip.Request, sip.ServerTransaction)
	req  *sip.Request
	tx   sip.ServerTransaction
	done chan struct{}
}

func newWorkers() *workers {
	w := &workers{jobs: make(chan *job)}
	w.pool.New = func() any { return &job{done: make(chan struct{}, 1)} }
	return w
}

// run starts n workers that stop when ctx ends.
func (w *workers) run(ctx context.Context, n int, wg *sync.WaitGroup) {
	serveJobs(ctx, n, wg, w.jobs, func(j *job) {
		j.h(j.req, j.tx)
		j.done <- struct{}{}
	})
}

// serveJobs starts n goroutines that run f on each job from jobs until
// ctx ends.
func serveJobs[T any](ctx context.Context, n int, wg *sync.WaitGroup, jobs <-chan T, f func(T)) {
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-jobs:
					f(j)
				}
			}
		}()
	}
}

// do runs h on a worker and waits for it; it reports false (without
// running h) when ctx ends first.
func (w *workers) do(ctx context.Context, h func(*sip.Request, sip.ServerTransaction), req *sip.Request, tx sip.ServerTransaction) bool {
	j := w.pool.Get().(*job)
	j.h, j.req, j.tx = h, req, tx
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		j.h, j.req, j.tx = nil, nil, nil
		w.pool.Put(j)
		return false
	}
	<-j.done // a worker that took the job always finishes it
	j.h, j.req, j.tx = nil, nil, nil
	w.pool.Put(j)
	return true
}
