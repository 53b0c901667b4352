package pbx

import (
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// Sentinel errors of call setup. failureFor maps each to the SIP answer
// and the CDR in one place.
var (
	// ErrCallNotFound means no live call has the given ID.
	ErrCallNotFound = errors.New("pbx: no such call")

	errBadSDP        = errors.New("malformed session description")
	errNoOffer       = errors.New("no SDP offer")
	errNoCodec       = errors.New("no common codec")
	errUnknownNumber = errors.New("unknown number")
	errNotRegistered = errors.New("not registered")
	errShuttingDown  = errors.New("shutting down")
	errDND           = errors.New("do not disturb")
	// errBusy: the extension is on a call and has call waiting off.
	errBusy = errors.New("busy")
)

// failure is how a call that was never answered ends: the final response
// to the caller and what the CDR says.
type failure struct {
	code        int
	reason      string
	disposition string
	cause       string
}

// Hang-up causes written to the CDR.
const (
	causeCallerHungUp   = "caller hung up"
	causeCalleeHungUp   = "callee hung up"
	causeBusy           = "busy"
	causeNoAnswer       = "no answer"
	causeCancelled      = "cancelled"
	causeNotRegistered  = "not registered"
	causeUnknownNumber  = "unknown number"
	causeMediaTimeout   = "media timeout"
	causeAdminHangup    = "hung up by administrator"
	causeShutdown       = "shutdown"
	causeNoACK          = "no ACK"
	causeBadSDP         = "bad SDP"
	causeNoCodec        = "no common codec"
	causeNoMediaPorts   = "no media ports"
	causeServerError    = "server error"
	causeAppDone        = "application ended"
	causeForbidden      = "forbidden by dial plan"
	causeHangupDest     = "hangup destination"
	causeNoTrunk        = "no such trunk"
	causeOutboundClass  = "outbound class"
	causeTrunkLoop      = "trunk to trunk"
	causeTooManyCalls   = "too many calls"
	causeNotAvailable   = "destination not available"
	causeDND            = "do not disturb"
	causeTransferred    = "transferred"
	causeTransferFailed = "transfer failed"
	causeBadRequest     = "bad request"
	// causeHandedOver ends a call whose INVITE went to another call (a
	// pickup), which answered it: nothing to answer, no record to write.
	causeHandedOver = "handed over"
)

// failureFor maps a setup error to the caller's answer and the CDR.
func failureFor(err error) failure {
	switch {
	case errors.Is(err, errBadSDP):
		return failure{sip.StatusBadRequest, "Bad Request (SDP)", store.DispositionFailed, causeBadSDP}
	case errors.Is(err, errNoOffer):
		return failure{sip.StatusNotAcceptableHere, "Not Acceptable Here (SDP offer required)", store.DispositionFailed, causeNoCodec}
	case errors.Is(err, errNoCodec):
		return failure{sip.StatusNotAcceptableHere, "Not Acceptable Here", store.DispositionFailed, causeNoCodec}
	case errors.Is(err, errUnknownNumber):
		return failure{sip.StatusNotFound, "Not Found", store.DispositionFailed, causeUnknownNumber}
	case errors.Is(err, errNotRegistered):
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, causeNotRegistered}
	case errors.Is(err, media.ErrNoPorts):
		return failure{sip.StatusServiceUnavailable, "Service Unavailable (no media ports)", store.DispositionFailed, causeNoMediaPorts}
	case errors.Is(err, errDND):
		return failure{sip.StatusBusyHere, "Busy Here (do not disturb)", store.DispositionBusy, causeDND}
	case errors.Is(err, errBusy):
		return failure{sip.StatusBusyHere, "Busy Here", store.DispositionBusy, causeBusy}
	case errors.Is(err, errOutboundClass):
		return failure{sip.StatusForbidden, "Forbidden (outbound class)", store.DispositionFailed, causeOutboundClass}
	case errors.Is(err, errTrunkLoop):
		return failure{sip.StatusForbidden, "Forbidden (trunk to trunk)", store.DispositionFailed, causeTrunkLoop}
	case errors.Is(err, errTooManyCalls):
		return failure{sip.StatusServiceUnavailable, "Service Unavailable (too many calls)", store.DispositionFailed, causeTooManyCalls}
	case errors.Is(err, errForbidden):
		return failure{sip.StatusForbidden, "Forbidden", store.DispositionFailed, causeForbidden}
	case errors.Is(err, errHangupDest), errors.Is(err, errHangupDialed):
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, causeHangupDest}
	case errors.Is(err, errNoTrunk):
		return failure{sip.StatusServiceUnavailable, "Service Unavailable (no such trunk)", store.DispositionFailed, causeNoTrunk}
	case errors.Is(err, errNoDestApp):
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, causeNotAvailable}
	case errors.Is(err, errShuttingDown):
		return failure{sip.StatusServiceUnavailable, "Service Unavailable (shutting down)", store.DispositionFailed, causeShutdown}
	}
	return failure{sip.StatusInternalServerError, "Server Internal Error", store.DispositionFailed, causeServerError}
}

// forkFailure maps the final responses of every fork of a call that
// nobody answered to one answer for the caller, as a forking proxy would
// (RFC 3261 16.7): the lowest class wins; within it, busy, else the first.
func forkFailure(finals []finalResponse) failure {
	if len(finals) == 0 {
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, causeNotRegistered}
	}
	var bestRes finalResponse
	for _, f := range finals {
		lower := bestRes.code == 0 || f.code/100 < bestRes.code/100
		if lower || (f.code/100 == bestRes.code/100 && f.code == sip.StatusBusyHere) {
			bestRes = f
		}
	}
	best := bestRes.code
	switch {
	case best == sip.StatusBusyHere || best == sip.StatusGlobalBusyEverywhere:
		return failure{sip.StatusBusyHere, "Busy Here", store.DispositionBusy, causeBusy}
	case best == sip.StatusRequestTimeout || best == sip.StatusTemporarilyUnavailable:
		return failure{best, "Temporarily Unavailable", store.DispositionNoAnswer, causeNoAnswer}
	case best == sip.StatusGlobalDecline:
		return failure{best, "Decline", store.DispositionBusy, "declined"}
	case best == sip.StatusServiceUnavailable, best/100 == 3, best == sip.StatusUnauthorized, best == sip.StatusProxyAuthRequired:
		// Our own 503 would tell the caller's proxy to try elsewhere (RFC
		// 3261 16.7); we follow no redirects and hold no callee credentials.
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, "callee failed"}
	}
	return failure{best, bestRes.reason, store.DispositionFailed, "callee failed"}
}

// finalResponse is a fork's final status.
type finalResponse struct {
	code   int
	reason string
}
