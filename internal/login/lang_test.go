package login

import (
	"maps"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, uiLocales, acceptLanguage string
		want                            Lang
	}{
		{"nothing", "", "", English},
		{"ui_locales", "fr", "", French},
		{"ui_locales beats Accept-Language", "de", "fr;q=1, en;q=0.9", German},
		{"first supported ui_locale wins", "ja fr-CA de", "en", French},
		{"ui_locales case and region", "DE-at", "", German},
		{"unsupported ui_locales fall to Accept-Language", "ja ko", "fr", French},
		{"malformed ui_locales skipped", "!!! fr", "", French},
		{"Accept-Language order", "", "de-DE,de;q=0.9,en;q=0.8", German},
		{"q-values, not order", "", "en;q=0.3, fr;q=0.9", French},
		{"q=0 refuses a language", "", "fr;q=0, de;q=0.1", German},
		{"only q=0", "", "fr;q=0", English},
		{"unsupported first, supported later", "", "ja, zh;q=0.9, fr;q=0.5", French},
		{"wildcard", "", "*", English},
		{"unknown", "", "xx-YY", English},
		{"garbage", "", ";;;q=abc,", English},
		{"regional English", "", "en-GB", English},
		{"Swiss French", "", "fr-CH, de-CH;q=0.8", French},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Negotiate(tt.uiLocales, tt.acceptLanguage); got != tt.want {
				t.Errorf("Negotiate(%q, %q) = %q, want %q", tt.uiLocales, tt.acceptLanguage, got, tt.want)
			}
		})
	}
}

var verb = regexp.MustCompile(`%[a-z]`)

// TestCatalogs_SameKeysAndVerbs: every language says every sentence, with
// the same formatting verbs as the English one.
func TestCatalogs_SameKeysAndVerbs(t *testing.T) {
	en := catalogs[English]
	if got := slices.Sorted(maps.Keys(catalogs)); len(got) != len(Langs) {
		t.Errorf("catalogs %q, Langs %q", got, Langs)
	}
	for _, l := range Langs[1:] {
		c := catalogs[l]
		for k, m := range en {
			tr, ok := c[k]
			if !ok {
				t.Errorf("%s: missing %q", l, k)
				continue
			}
			if !slices.Equal(verb.FindAllString(tr, -1), verb.FindAllString(m, -1)) {
				t.Errorf("%s %q: verbs of %q differ from %q", l, k, tr, m)
			}
			if tr == "" {
				t.Errorf("%s %q empty", l, k)
			}
		}
		for k := range c {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is not an English key", l, k)
			}
		}
	}
}

func TestProblem_EveryOneIsSaidInEveryLanguage(t *testing.T) {
	for _, l := range Langs {
		seen := map[string]Problem{}
		for p := WrongCode; p <= Generic; p++ {
			s := p.Text(l, 0)
			if s == "" {
				t.Errorf("%s: problem %d has no text", l, p)
			}
			if q, dup := seen[s]; dup {
				t.Errorf("%s: problems %d and %d both say %q", l, q, p, s)
			}
			seen[s] = p
		}
		if NoProblem.Text(l, 0) != "" {
			t.Errorf("%s: NoProblem has a text", l)
		}
		if Problem(999).Text(l, 0) != Generic.Text(l, 0) {
			t.Errorf("%s: an unknown problem is not Generic", l)
		}
	}
}

func TestProblem_RateLimitedSaysHowLong(t *testing.T) {
	tests := []struct {
		lang  Lang
		after time.Duration
		want  string
	}{
		{English, 0, "Too many attempts. Wait a moment and try again."},
		{English, 30 * time.Second, "Too many attempts. Wait 30 seconds and try again."},
		{English, 1 * time.Second, "Too many attempts. Wait 1 second and try again."},
		{English, 300 * time.Millisecond, "Too many attempts. Wait 1 second and try again."},
		{English, 90*time.Second + 1, "Too many attempts. Wait 91 seconds and try again."},
		{English, 120 * time.Second, "Too many attempts. Wait 2 minutes and try again."},
		{English, 121 * time.Second, "Too many attempts. Wait 3 minutes and try again."},
		{French, 1 * time.Second, "Trop de tentatives. Patientez 1 seconde et réessayez."},
		{French, 45 * time.Second, "Trop de tentatives. Patientez 45 secondes et réessayez."},
		{German, time.Hour, "Zu viele Versuche. Warten Sie 60 Minuten und versuchen Sie es erneut."},
	}
	for _, tt := range tests {
		if got := RateLimited.Text(tt.lang, tt.after); got != tt.want {
			t.Errorf("%s %v: %q, want %q", tt.lang, tt.after, got, tt.want)
		}
	}
}
