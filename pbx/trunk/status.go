package trunk

import "time"

// Registration states of a trunk.
const (
	// StateRegistered: the provider accepted the last REGISTER.
	StateRegistered = "registered"
	// StateFailed: the last REGISTER failed (refused, no answer, wrong
	// credentials); another is tried at NextRetry.
	StateFailed = "failed"
	// StateUnregistered: not registered: the trunk does not register (an
	// IP trunk), or its first REGISTER has not been answered yet, or it
	// was removed.
	StateUnregistered = "unregistered"
)

// Status is a trunk's live registration state.
type Status struct {
	State string
	// Register reports whether the trunk registers at all.
	Register bool
	// LastError is why the last REGISTER failed ("" after a success).
	LastError string
	// NextRetry is when the next REGISTER goes out after a failure, or
	// the refresh after a success; zero when none is planned.
	NextRetry time.Time
	// RegisteredAt is when the provider last accepted a REGISTER;
	// ExpiresAt is when that registration runs out.
	RegisteredAt, ExpiresAt time.Time
	// Registrations counts accepted REGISTERs (the first and every
	// refresh); Failures counts failed ones in a row.
	Registrations, Failures int
}
