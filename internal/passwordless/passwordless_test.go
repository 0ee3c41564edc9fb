package passwordless

import (
	"strings"
	"testing"
)

func TestNewCode_HasTheAskedLengthAndOnlyDigits(t *testing.T) {
	for _, n := range []int{4, 6, 10} {
		for i := 0; i < 200; i++ {
			c, err := NewCode(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(c) != n || strings.Trim(c, "0123456789") != "" {
				t.Fatalf("NewCode(%d) = %q", n, c)
			}
		}
	}
}

// A biased generator (modulo bias, a short read) shows up as a lopsided
// first digit; leading zeros must be as common as any other digit.
func TestNewCode_FirstDigitIsUniform(t *testing.T) {
	const draws = 20000
	var counts [10]int
	for i := 0; i < draws; i++ {
		c, err := NewCode(6)
		if err != nil {
			t.Fatal(err)
		}
		counts[c[0]-'0']++
	}
	// Chi-squared with 9 degrees of freedom; 27.88 is the 0.1% critical value.
	var chi2 float64
	for _, n := range counts {
		d := float64(n) - draws/10
		chi2 += d * d / (draws / 10)
	}
	if chi2 > 27.88 {
		t.Fatalf("first digits %v are not uniform (chi2 = %.1f)", counts, chi2)
	}
}

func TestGravatar_IsAuth0sDefaultPicture(t *testing.T) {
	got := Gravatar("test-user@example.com")
	if !strings.HasPrefix(got, "https://s.gravatar.com/avatar/") ||
		!strings.HasSuffix(got, "?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fte.png") {
		t.Fatalf("Gravatar = %q", got)
	}
}

func TestTakeoverBound_DefaultsAreBelowOneInTenThousand(t *testing.T) {
	b := TakeoverBound(6, DefaultProtection(), true)
	// 30 guesses, each worth at most 1 in 999,998.
	if want := 30 / 999998.0; b >= 1e-4 || b > want || b < want*0.9999 {
		t.Fatalf("bound = %g, want just under %g", b, want)
	}
	if TakeoverBound(6, DefaultProtection(), false) != 1 {
		t.Fatalf("without protection there is no bound")
	}
	if TakeoverBound(4, DefaultProtection(), true) < 2.9e-3 {
		t.Fatalf("a 4-digit code must give a much weaker bound")
	}
}
