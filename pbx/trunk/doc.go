// Package trunk is the PBX's side of its SIP trunks that needs no call:
// the registration client (outbound REGISTER with digest answers, refresh
// before expiry, exponential backoff, a live status per trunk), the
// inbound matcher (which trunk, if any, a request's source address
// belongs to) and the rule that picks an inbound call's DID. The call
// engine (package pbx) keeps the B2BUA that places and takes trunk calls.
package trunk
