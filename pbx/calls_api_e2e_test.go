package pbx_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestCallsAPIListsAndHangsUp: a live call shows in GET /api/v1/calls with
// its legs, and DELETE ends it for both phones with a CDR saying who.
func TestCallsAPIListsAndHangsUp(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")

	code, body := p.Do(http.MethodGet, "/api/v1/calls", nil)
	var list struct {
		Items []struct {
			ID         string  `json:"id"`
			From       string  `json:"from"`
			FromName   string  `json:"from_name"`
			To         string  `json:"to"`
			State      string  `json:"state"`
			AnsweredAt *string `json:"answered_at"`
			Legs       []struct {
				Role, Number, Codec string
			} `json:"legs"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list.Items) != 1 {
		t.Fatalf("GET /calls: %d %s", code, body)
	}
	c := list.Items[0]
	if c.From != "101" || c.FromName != "Test 101" || c.To != "102" || c.State != "answered" || c.AnsweredAt == nil || len(c.Legs) != 2 {
		t.Fatalf("live call: %+v", c)
	}

	if code, body := p.Do(http.MethodDelete, "/api/v1/calls/"+c.ID, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE /calls/%s: %d %s", c.ID, code, body)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatalf("callee: %v", err)
	}
	wantCDR(t, p, "answered", "hung up by administrator")
	if code, _ := p.Do(http.MethodDelete, "/api/v1/calls/"+c.ID, nil); code != http.StatusNotFound {
		t.Fatalf("DELETE of an ended call: %d, want 404", code)
	}
	if code, body := p.Do(http.MethodGet, "/api/v1/calls", nil); code != http.StatusOK || string(body) != `{"items":[],"next_cursor":""}`+"\n" {
		t.Fatalf("after hangup: %d %s", code, body)
	}
}
