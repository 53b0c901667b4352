package pbx

import "strconv"

// contentTypeMessageSummary is the body type of the message-summary
// event package (RFC 3842), which lights a phone's message lamp.
const contentTypeMessageSummary = "application/simple-message-summary"

// mailboxCounts is what message-summary subscribers see of a voicemail
// box: its new (unheard) and old (heard, kept) messages.
type mailboxCounts struct {
	new, old int
}

// buildMessageSummary renders an RFC 3842 body for the box whose account
// is sip:NNN@host. The urgent counts (in brackets) are always 0: the
// PBX has no urgent messages.
func buildMessageSummary(account string, c mailboxCounts) []byte {
	waiting := "no"
	if c.new > 0 {
		waiting = "yes"
	}
	b := make([]byte, 0, 96)
	b = append(b, "Messages-Waiting: "...)
	b = append(b, waiting...)
	b = append(b, "\r\nMessage-Account: "...)
	b = append(b, account...)
	b = append(b, "\r\nVoice-Message: "...)
	b = strconv.AppendInt(b, int64(c.new), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(c.old), 10)
	b = append(b, " (0/0)\r\n"...)
	return b
}
