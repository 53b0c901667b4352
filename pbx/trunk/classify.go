package trunk

import (
	"slices"
	"strings"
)

// Class is an outbound permission class: how far an extension may call
// through a trunk. The classes are ordered; a class may dial every number
// its own class and the lower ones need.
type Class int

// Outbound classes, lowest first.
const (
	ClassInternal      Class = iota // no calls through a trunk (emergency numbers aside)
	ClassLocal                      // numbers without a trunk prefix
	ClassNational                   // numbers with a national prefix (0 or 1)
	ClassInternational              // numbers with an international prefix (+, 00, 011)
)

// DefaultEmergencyNumbers are the numbers every extension may dial through
// a trunk, whatever its class, unless configured otherwise.
var DefaultEmergencyNumbers = []string{"112", "911", "999"}

// ParseClass reads an extension's outbound field; an empty or unknown
// class is ClassInternal (the safe side).
func ParseClass(s string) Class {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "local":
		return ClassLocal
	case "national":
		return ClassNational
	case "international":
		return ClassInternational
	}
	return ClassInternal
}

// String is the class's name as the outbound field spells it.
func (c Class) String() string {
	switch c {
	case ClassLocal:
		return "local"
	case ClassNational:
		return "national"
	case ClassInternational:
		return "international"
	}
	return "internal"
}

// Classify tells which class a number sent to a trunk needs, and whether
// it is one of the emergency numbers (always allowed):
//
//   - international: it starts with +, 00 or 011;
//   - national: it starts with 0 or 1 (a trunk or long-distance prefix);
//   - local: anything else.
//
// The number is the one the trunk receives, after the dial plan's strip
// and prefix.
func Classify(number string, emergency []string) (need Class, isEmergency bool) {
	if slices.Contains(emergency, number) {
		return ClassInternal, true
	}
	switch {
	case strings.HasPrefix(number, "+"), strings.HasPrefix(number, "00"), strings.HasPrefix(number, "011"):
		return ClassInternational, false
	case strings.HasPrefix(number, "0"), strings.HasPrefix(number, "1"):
		return ClassNational, false
	}
	return ClassLocal, false
}

// Permits reports whether an extension of class have may send number to
// a trunk: an emergency number always; otherwise a class other than
// internal that is at least what the number needs.
func Permits(have Class, number string, emergency []string) bool {
	need, isEmergency := Classify(number, emergency)
	if isEmergency {
		return true
	}
	return have != ClassInternal && have >= need
}
