package pbx

import "testing"

func TestMessageSummaryBody(t *testing.T) {
	for _, tc := range []struct {
		c    mailboxCounts
		want string
	}{
		{mailboxCounts{}, "Messages-Waiting: no\r\nMessage-Account: sip:102@pbx.test\r\nVoice-Message: 0/0 (0/0)\r\n"},
		{mailboxCounts{new: 2, old: 5}, "Messages-Waiting: yes\r\nMessage-Account: sip:102@pbx.test\r\nVoice-Message: 2/5 (0/0)\r\n"},
		{mailboxCounts{old: 1}, "Messages-Waiting: no\r\nMessage-Account: sip:102@pbx.test\r\nVoice-Message: 0/1 (0/0)\r\n"},
	} {
		if got := string(buildMessageSummary("sip:102@pbx.test", tc.c)); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.c, got, tc.want)
		}
	}
}
