// Package media moves audio: RTP relay and sessions, SDP, G.711, DTMF,
// prompts, recording and the conference mixer. It knows nothing about SIP
// dialogs or the database. Its engine arrives with the Calls issue.
package media
