package admin

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// maxRingGroupMembers bounds a ring group: more would be a page to everyone.
const maxRingGroupMembers = 100

// ringGroupJSON is a ring group as the API shows it.
type ringGroupJSON struct {
	Number        string    `json:"number"`
	Name          string    `json:"name"`
	Strategy      string    `json:"strategy"`
	Members       []string  `json:"members"`
	RingSeconds   int       `json:"ring_seconds"`
	MemberSeconds int       `json:"member_seconds"`
	OnNoAnswer    string    `json:"on_no_answer"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func toRingGroupJSON(g store.RingGroup) ringGroupJSON {
	members := g.Members
	if members == nil {
		members = []string{}
	}
	return ringGroupJSON{
		Number: g.Number, Name: g.Name, Strategy: g.Strategy, Members: members, RingSeconds: g.RingSeconds,
		MemberSeconds: g.MemberSeconds, OnNoAnswer: g.OnNoAnswer, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
	}
}

// ringGroupInput is a request body for POST, PUT and PATCH; nil fields were
// omitted.
type ringGroupInput struct {
	Number        *string   `json:"number"`
	Name          *string   `json:"name"`
	Strategy      *string   `json:"strategy"`
	Members       *[]string `json:"members"`
	RingSeconds   *int      `json:"ring_seconds"`
	MemberSeconds *int      `json:"member_seconds"`
	OnNoAnswer    *string   `json:"on_no_answer"`
	// Read-only; accepted and ignored so a GET body can be PUT back as is.
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

// defaultRingGroup is what a POST or PUT starts from.
func defaultRingGroup(number string) store.RingGroup {
	return store.RingGroup{Number: number, Strategy: store.StrategyRingAll, RingSeconds: 30, MemberSeconds: 15}
}

func (in *ringGroupInput) apply(g *store.RingGroup) {
	set(&g.Name, in.Name)
	set(&g.Strategy, in.Strategy)
	set(&g.Members, in.Members)
	set(&g.RingSeconds, in.RingSeconds)
	set(&g.MemberSeconds, in.MemberSeconds)
	set(&g.OnNoAnswer, in.OnNoAnswer)
}

// validateRingGroup checks every field of g and adds each problem to fe;
// the error is only for a failing store.
func (s *Server) validateRingGroup(ctx context.Context, g *store.RingGroup, fe fieldErrors) error {
	if !isDigits(g.Number, 2, 10) {
		fe.add("number", "must be 2 to 10 digits")
	}
	if msg := checkText(g.Name, maxNameLen); msg != "" {
		fe.add("name", msg)
	}
	if g.Strategy != store.StrategyRingAll && g.Strategy != store.StrategyHunt {
		fe.add("strategy", "must be ringall or hunt")
	}
	if err := s.checkMembers(ctx, g.Members, fe); err != nil {
		return err
	}
	if g.RingSeconds < 5 || g.RingSeconds > 600 {
		fe.add("ring_seconds", "must be from 5 to 600")
	}
	if g.MemberSeconds < 5 || g.MemberSeconds > 300 {
		fe.add("member_seconds", "must be from 5 to 300")
	}
	switch g.OnNoAnswer {
	case "": // hang up
	case "ringgroup:" + g.Number:
		fe.add("on_no_answer", "cannot send a ring group to itself")
	default:
		return s.checkDestination(ctx, fe, "on_no_answer", g.OnNoAnswer, "")
	}
	return nil
}

// checkMembers wants 1 to 100 existing extensions, each once.
func (s *Server) checkMembers(ctx context.Context, members []string, fe fieldErrors) error {
	switch {
	case len(members) == 0:
		fe.add("members", "must list at least one extension")
		return nil
	case len(members) > maxRingGroupMembers:
		fe.add("members", "must list at most 100 extensions")
		return nil
	}
	for i, m := range members {
		if slices.Contains(members[:i], m) {
			fe.add("members", "lists "+m+" twice")
			return nil
		}
		if !isDigits(m, 1, 10) {
			fe.add("members", "must be extension numbers, not "+quoteShort(m))
			return nil
		}
		msg, err := s.store.NumberProblem(ctx, m, "extension")
		if err != nil {
			return err
		}
		if msg != "" {
			fe.add("members", msg)
			return nil
		}
	}
	return nil
}

// quoteShort quotes s for a message, cut to 20 bytes.
func quoteShort(s string) string {
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	return strconv.Quote(s)
}
