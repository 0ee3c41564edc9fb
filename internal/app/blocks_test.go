package app

import "testing"

// What an operator types to `sesame blocks clear` must name what the server
// stored: an IPv6 caller is counted and blocked by its /64.
func TestNormalizeIdentifier_MatchesHowBlocksAreKeyed(t *testing.T) {
	for in, want := range map[string]string{
		"2001:db8:1:2::1":        "2001:db8:1:2::/64",
		" 2001:db8:1:2:ffff::9 ": "2001:db8:1:2::/64",
		"fe80::1%eth0":           "fe80::/64",
		"192.0.2.1":              "192.0.2.1",
		"::ffff:192.0.2.1":       "192.0.2.1",
		"2001:db8:1:2::/64":      "2001:db8:1:2::/64",
		"Alice@Example.com":      "alice@example.com",
		"+1 (415) 555-2671":      "+14155552671",
	} {
		if got := NormalizeIdentifier(in); got != want {
			t.Errorf("NormalizeIdentifier(%q) = %q, want %q", in, got, want)
		}
	}
}
