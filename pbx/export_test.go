package pbx

import "weak"

// WeakCall returns a weak reference to the live call id, for tests that
// check a finished call is not kept in memory.
func (e *Engine) WeakCall(id string) (weak.Pointer[call], bool) {
	c := e.calls.get(id)
	if c == nil {
		return weak.Pointer[call]{}, false
	}
	return weak.Make(c), true
}
