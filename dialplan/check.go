package dialplan

// Directory answers whether a destination's target exists. For
// KindTrunk only Trunk is meaningful (Number may be empty); Check never
// asks about KindHangup or KindNumber, which need no target.
type Directory interface {
	Exists(d Destination) bool
}

// Check reports every destination literal whose target does not exist,
// at the literal's position, e.g. "no extension 999". For literals with
// variables only the fixed parts are checked: a trunk's name.
func (p *Plan) Check(dir Directory) ErrorList {
	if p == nil || dir == nil {
		return nil
	}
	var errs ErrorList
	for _, dl := range p.dests {
		r := dl.reference()
		d := r.Dest
		switch {
		case r.Kind == KindHangup || r.Kind == KindNumber:
			continue
		case r.Kind == KindTrunk && r.Trunk != "":
			d = Destination{Kind: KindTrunk, Trunk: r.Trunk, Number: r.Dest.Number}
		case d.Kind == "":
			continue // the number is a variable
		}
		if !dir.Exists(d) {
			errs.add(r.Line, r.Col, "%s", missing(d))
		}
	}
	return errs.sortDedup()
}

// missing words a dangling destination.
func missing(d Destination) string {
	switch d.Kind {
	case KindExtension:
		return "no extension " + d.Number
	case KindVoicemail:
		return "no voicemail box " + d.Number
	case KindRingGroup:
		return "no ring group " + d.Number
	case KindIVR:
		return "no IVR menu " + d.Number
	case KindConference:
		return "no conference room " + d.Number
	case KindTrunk:
		return "no trunk " + d.Trunk
	}
	return "no " + d.String()
}

// Compile parses src and checks its destinations against dir, reporting
// Parse's and Check's errors together, sorted by position: the
// destinations of a plan with syntax errors are checked as far as they
// were read. The plan is nil when there is any error.
func Compile(src string, dir Directory) (*Plan, ErrorList) {
	p, errs := parse(src)
	errs = append(errs, p.Check(dir)...)
	if len(errs) > 0 {
		return nil, errs.sortDedup()
	}
	return p, nil
}
