package pbx

import (
	"context"
	"errors"
	"sync"

	"github.com/officepbx/pbx/pbx/store"
)

// maxMissing bounds the negative cache, so a flood of requests for made-up
// usernames cannot grow memory.
const maxMissing = 10000

// extensionCache keeps extensions in memory so authentication does not hit
// SQLite on every request. Every committed change to an extension evicts it
// (store.Subscribe), so the next request sees the new settings.
type extensionCache struct {
	st *store.Store

	mu      sync.RWMutex
	known   map[string]store.Extension
	missing map[string]struct{}
	gen     uint64 // bumped on every eviction, so a racing load does not cache stale data
}

func newExtensionCache(st *store.Store) *extensionCache {
	c := &extensionCache{st: st, known: map[string]store.Extension{}, missing: map[string]struct{}{}}
	st.Subscribe(func(ch store.Change) {
		if ch.Kind == "extension" {
			c.evict(ch.Key)
		}
	})
	return c
}

func (c *extensionCache) evict(number string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.known, number)
	delete(c.missing, number)
	c.gen++
}

// get returns the extension, or store.ErrNotFound.
func (c *extensionCache) get(ctx context.Context, number string) (store.Extension, error) {
	c.mu.RLock()
	e, ok := c.known[number]
	_, miss := c.missing[number]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return e, nil
	}
	if miss {
		return e, store.ErrNotFound
	}
	e, err := c.st.GetExtension(ctx, number)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return e, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		if err == nil {
			c.known[number] = e
		} else {
			if len(c.missing) >= maxMissing {
				clear(c.missing)
			}
			c.missing[number] = struct{}{}
		}
	}
	return e, err
}

// peekAuth returns what authentication needs of an extension as cached,
// without loading it: known reports whether it exists, cached whether the
// cache knows either way. (Not the whole Extension: copying it was a
// measurable part of a registration on the fast path.)
func (c *extensionCache) peekAuth(number string) (secret string, algs []string, known, cached bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e, ok := c.known[number]; ok {
		return e.Secret, e.AuthAlgorithms, true, true
	}
	_, miss := c.missing[number]
	return "", nil, false, miss
}
