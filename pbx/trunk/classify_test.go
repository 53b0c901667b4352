package trunk

import (
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	em := DefaultEmergencyNumbers
	for _, tc := range []struct {
		number    string
		need      Class
		emergency bool
	}{
		{"112", ClassInternal, true},
		{"911", ClassInternal, true},
		{"999", ClassInternal, true},
		{"5551234", ClassLocal, false},
		{"030123456", ClassNational, false},
		{"12125551234", ClassNational, false},
		{"0044207946000", ClassInternational, false},
		{"011442079460000", ClassInternational, false},
		{"+44207946000", ClassInternational, false},
		{"1120", ClassNational, false}, // not the emergency number itself
		{"", ClassLocal, false},
	} {
		need, e := Classify(tc.number, em)
		if need != tc.need || e != tc.emergency {
			t.Errorf("Classify(%q) = %s, %v; want %s, %v", tc.number, need, e, tc.need, tc.emergency)
		}
	}
}

func TestPermits(t *testing.T) {
	em := []string{"112"}
	for _, tc := range []struct {
		class  string
		number string
		ok     bool
	}{
		{"internal", "112", true},
		{"internal", "5551234", false},
		{"", "5551234", false},
		{"bogus", "5551234", false},
		{"local", "5551234", true},
		{"local", "030123456", false},
		{"national", "030123456", true},
		{"national", "0044207946000", false},
		{"international", "+44207946000", true},
		{"International", "0044207946000", true},
		{"internal", "911", false}, // not in this list
	} {
		if got := Permits(ParseClass(tc.class), tc.number, em); got != tc.ok {
			t.Errorf("class %q dials %s: %v, want %v", tc.class, tc.number, got, tc.ok)
		}
	}
}

func TestCallCounterHours(t *testing.T) {
	var c CallCounter
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		c.Count("pstn", Outbound, t0.Add(time.Duration(i)*time.Minute))
	}
	// An hour later the three are the previous hour's; a burst follows.
	t1 := t0.Add(65 * time.Minute)
	for i := 0; i < 12; i++ {
		c.Count("pstn", Inbound, t1)
	}
	last, prev := c.Hours(t1)
	if last != 12 || prev != 3 {
		t.Fatalf("hours %d, %d; want 12, 3", last, prev)
	}
	if !Surge(last, prev) {
		t.Error("12 calls after 3 is a surge")
	}
	// Two hours on, everything has aged out.
	if last, prev := c.Hours(t1.Add(121 * time.Minute)); last != 0 || prev != 0 {
		t.Errorf("after two hours: %d, %d", last, prev)
	}
	// A clock that goes back does not lose counts.
	c.Count("pstn", Outbound, t1.Add(121*time.Minute))
	c.Count("pstn", Outbound, t1)
	if last, _ := c.Hours(t1.Add(121 * time.Minute)); last != 2 {
		t.Errorf("last hour %d, want 2", last)
	}
	for _, tc := range []struct {
		last, prev uint64
		surge      bool
	}{{9, 0, false}, {10, 0, true}, {10, 5, false}, {11, 5, true}, {100, 60, false}} {
		if Surge(tc.last, tc.prev) != tc.surge {
			t.Errorf("Surge(%d, %d) != %v", tc.last, tc.prev, tc.surge)
		}
	}
}

// FuzzClassify: any number classifies without panic, and the classes
// stay ordered: a class that may dial a number keeps that right upward.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"112", "0044", "+1", "011", "5551234", "", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, number string) {
		for c := ClassInternal; c < ClassInternational; c++ {
			if Permits(c, number, DefaultEmergencyNumbers) && !Permits(c+1, number, DefaultEmergencyNumbers) {
				t.Fatalf("%s may dial %q but %s may not", c, number, c+1)
			}
		}
		if !Permits(ClassInternational, number, DefaultEmergencyNumbers) {
			t.Fatalf("international may not dial %q", number)
		}
	})
}
