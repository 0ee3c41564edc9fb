package passwordless

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Each case is an input and either the canonical address or the class of
// refusal. The confusables are the ones that once let a code mailed to a
// look-alike log into the real account (strings.ToLower folds U+0130 to
// "i" and U+212A to "k").
func TestCanonicalEmail(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []struct {
		name, in, want string
		err            error
	}{
		// Plain addresses and ASCII case.
		{"plain", "a@example.com", "a@example.com", nil},
		{"atext and a tag", "first.last+tag@sub.example.org", "first.last+tag@sub.example.org", nil},
		{"every atext symbol", "!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com", nil},
		{"ASCII upper case is folded", "  Alice@Example.COM\t", "alice@example.com", nil},
		{"only ASCII whitespace is trimmed", "\u00A0a@example.com", "", ErrEmailCharacter},
		{"empty", "", "", ErrEmailMissing},
		{"blank", " \t\r\n", "", ErrEmailMissing},

		// Dotted and dotless i.
		{"U+0130 in the domain", "victim@\u0130nstagram.com", "", ErrEmailNotCanonical},
		{"U+0130 in the local part", "v\u0130ctim@instagram.com", "", ErrEmailNotCanonical},
		{"i + U+0307 in the domain", "victim@i\u0307nstagram.com", "", ErrEmailNotCanonical},
		{"i + U+0307 in the local part", "vi\u0307ctim@instagram.com", "", ErrEmailNotCanonical},
		{"dotless i is its own letter in the local part", "v\u0131ctim@instagram.com", "v\u0131ctim@instagram.com", nil},
		{"dotless i is its own letter in the domain", "victim@\u0131nstagram.com", "victim@xn--nstagram-skb.com", nil},

		// Kelvin and Ångström signs.
		{"Kelvin sign in the local part", "\u212Aelvin@example.com", "", ErrEmailNotCanonical},
		{"Kelvin sign in the domain", "ops@\u212Aiwi.com", "", ErrEmailNotCanonical},
		{"Ångström sign in the local part", "\u212Bngstr\u00F6m@example.se", "", ErrEmailNotCanonical},
		{"Ångström sign in the domain", "a@\u212Bngstr\u00F6m.se", "", ErrEmailNotCanonical},
		{"å itself in the local part", "\u00E5ngstr\u00F6m@example.se", "\u00E5ngstr\u00F6m@example.se", nil},

		// Fullwidth forms.
		{"fullwidth at sign", "a\uFF20example.com", "", ErrEmailSyntax},
		{"small commercial at", "a\uFE6Bexample.com", "", ErrEmailSyntax},
		{"fullwidth letters in the local part", "\uFF41\uFF44\uFF4D\uFF49\uFF4E@example.com", "", ErrEmailNotCanonical},
		{"fullwidth letters in the domain", "admin@\uFF45xample.com", "", ErrEmailNotCanonical},
		{"ideographic full stop", "a@example\u3002com", "", ErrEmailNotCanonical},
		{"fullwidth full stop", "a@example\uFF0Ecom", "", ErrEmailNotCanonical},
		{"ligature", "\uFB01le@example.com", "", ErrEmailNotCanonical},
		{"long s", "\u017Fam@example.com", "", ErrEmailNotCanonical},

		// ß: a letter of its own, kept (IDNA2008, non-transitional).
		{"sharp s in the local part", "stra\u00DFe@example.de", "stra\u00DFe@example.de", nil},
		{"sharp s in the domain", "a@stra\u00DFe.de", "a@xn--strae-oqa.de", nil},
		{"capital sharp s", "STRA\u1E9EE@example.de", "", ErrEmailNotCanonical},

		// Combining marks: NFC is accepted, NFD refused.
		{"NFC local part", "j\u00FCrgen@example.de", "j\u00FCrgen@example.de", nil},
		{"NFD local part", "ju\u0308rgen@example.de", "", ErrEmailNotCanonical},
		{"NFC domain", "user@m\u00FCnchen.de", "user@xn--mnchen-3ya.de", nil},
		{"NFD domain", "user@mu\u0308nchen.de", "", ErrEmailNotCanonical},
		{"mark at the start of the local part", "\u0301a@example.com", "", ErrEmailCharacter},
		{"mark after a dot", "a.\u0301b@example.com", "", ErrEmailCharacter},
		{"repeated mark", "q\u0301\u0301@example.com", "", ErrEmailNotCanonical},
		{"non-ASCII upper case in the local part", "J\u00DCrgen@example.de", "", ErrEmailNotCanonical},
		{"non-ASCII upper case in the domain", "user@M\u00DCnchen.de", "", ErrEmailNotCanonical},

		// Mixed scripts.
		{"Cyrillic a in a Latin local part", "p\u0430ypal@example.com", "", ErrEmailMixedScript},
		{"Cyrillic a in a Latin domain label", "billing@p\u0430ypal.com", "", ErrEmailMixedScript},
		{"Cyrillic a as an A-label", "billing@xn--pypal-4ve.com", "", ErrEmailMixedScript},
		{"Greek omicron in a Latin local part", "g\u03BFogle@example.com", "", ErrEmailMixedScript},
		{"all-Cyrillic local part", "\u043F\u0440\u0438\u0432\u0435\u0442@example.ru", "\u043F\u0440\u0438\u0432\u0435\u0442@example.ru", nil},
		{"Cyrillic and Latin in different labels", "a@\u043F\u0440\u0438\u043C\u0435\u0440.com", "a@xn--e1afmkfd.com", nil},
		{"Japanese: Han and Hiragana", "a@\u4F8B\u3048.jp", "a@xn--r8jz45g.jp", nil},
		{"Japanese with Latin in the local part", "taro\u592A\u90CE\u30BF\u30ED\u3046@example.jp", "taro\u592A\u90CE\u30BF\u30ED\u3046@example.jp", nil},
		{"Korean with Han and Latin", "kim\uAE40\u91D1@example.kr", "kim\uAE40\u91D1@example.kr", nil},
		{"Hangul and Hiragana", "\uAE40\u3046@example.kr", "", ErrEmailMixedScript},
		{"Latin and Greek in a label", "a@\u03B1b.gr", "", ErrEmailMixedScript},

		// Invisible and formatting characters.
		{"right-to-left override", "a\u202E@example.com", "", ErrEmailCharacter},
		{"right-to-left override in the domain", "a@exam\u202Eple.com", "", ErrEmailCharacter},
		{"left-to-right mark", "\u200Ea@example.com", "", ErrEmailCharacter},
		{"bidi isolate", "a\u2067b@example.com", "", ErrEmailCharacter},
		{"zero-width space", "a\u200Bb@example.com", "", ErrEmailCharacter},
		{"zero-width joiner", "a@exa\u200Dmple.com", "", ErrEmailCharacter},
		{"zero-width non-joiner", "a\u200Cb@example.com", "", ErrEmailCharacter},
		{"soft hyphen", "ad\u00ADmin@example.com", "", ErrEmailCharacter},
		{"byte order mark", "\uFEFFa@example.com", "", ErrEmailCharacter},
		{"variation selector", "a\uFE0F@example.com", "", ErrEmailCharacter},
		{"Hangul filler", "a\u3164@example.com", "", ErrEmailCharacter},
		{"braille blank", "a\u2800@example.com", "", ErrEmailCharacter},
		{"NUL", "a\x00@example.com", "", ErrEmailCharacter},
		{"newline inside", "a\n@example.com", "", ErrEmailCharacter},
		{"CRLF header injection", "a@example.com\r\nBcc: b@example.com", "", ErrEmailCharacter},
		{"no-break space inside", "a\u00A0b@example.com", "", ErrEmailCharacter},
		{"ideographic space", "a\u3000@example.com", "", ErrEmailCharacter},
		{"private use", "a\uE000@example.com", "", ErrEmailCharacter},
		{"unassigned", "a\U000E0080@example.com", "", ErrEmailCharacter},
		{"replacement character", "a\uFFFD@example.com", "", ErrEmailCharacter},
		{"invalid UTF-8", "a\xff@example.com", "", ErrEmailCharacter},
		{"non-ASCII symbol in the local part", "a\u2010b@example.com", "", ErrEmailCharacter},
		{"emoji in the local part", "a\U0001F600@example.com", "", ErrEmailCharacter},

		// Syntax.
		{"no at", "not-an-address", "", ErrEmailSyntax},
		{"a name", "Eve <eve@example.com>", "", ErrEmailCharacter},
		{"two addresses", "a@example.com,b@example.com", "", ErrEmailSyntax},
		{"two at signs", "a@b@example.com", "", ErrEmailSyntax},
		{"empty local part", "@example.com", "", ErrEmailSyntax},
		{"empty domain", "a@", "", ErrEmailSyntax},
		{"quoted local part", `"a b"@example.com`, "", ErrEmailCharacter},
		{"quoted local part without space", `"ab"@example.com`, "", ErrEmailSyntax},
		{"leading dot", ".a@example.com", "", ErrEmailSyntax},
		{"trailing dot", "a.@example.com", "", ErrEmailSyntax},
		{"double dot", "a..b@example.com", "", ErrEmailSyntax},
		{"IPv4 literal", "a@[127.0.0.1]", "", ErrEmailSyntax},
		{"IPv6 literal", "a@[IPv6:::1]", "", ErrEmailSyntax},
		{"bare IPv4", "a@127.0.0.1", "", ErrEmailSyntax},
		{"all-digit top-level label", "a@1.2.3.4", "", ErrEmailSyntax},
		{"all-digit top-level label, short", "a@example.123", "", ErrEmailSyntax},
		{"dotless", "a@localhost", "", ErrEmailSyntax},
		{"trailing dot in the domain", "a@example.com.", "", ErrEmailSyntax},
		{"leading dot in the domain", "a@.example.com", "", ErrEmailSyntax},
		{"double dot in the domain", "a@example..com", "", ErrEmailSyntax},
		{"underscore in the domain", "a@ex_ample.com", "", ErrEmailSyntax},
		{"leading hyphen in a label", "a@-example.com", "", ErrEmailSyntax},
		{"comment", "a(x)@example.com", "", ErrEmailSyntax},
		{"backslash", `a\b@example.com`, "", ErrEmailSyntax},

		// IDNs: U-label and A-label give one result.
		{"U-label", "user@m\u00FCnchen.de", "user@xn--mnchen-3ya.de", nil},
		{"A-label", "user@xn--mnchen-3ya.de", "user@xn--mnchen-3ya.de", nil},
		{"A-label in upper case", "USER@XN--MNCHEN-3YA.DE", "user@xn--mnchen-3ya.de", nil},
		{"A-label of an ASCII label", "a@xn--abc-.com", "", ErrEmailSyntax},
		{"A-label of i + U+0307", "victim@xn--instagram-5jf.com", "", ErrEmailNotCanonical},
		{"A-label with a zero-width non-joiner", "x@xn--11b2ezcs70k.in", "", ErrEmailCharacter},
		{"A-label of a Hebrew label", "x@XN--4DBC.COM", "x@xn--4dbc.com", nil},
		{"A-label that is not valid punycode", "a@xn--zzzzzzzzzz9.com", "", ErrEmailSyntax},

		// Lengths (octets).
		{"64-octet local part", long + "a@example.com", long + "a@example.com", nil},
		{"65-octet local part", long + "aa@example.com", "", ErrEmailSyntax},
		{"64-octet local part in 2-octet letters", strings.Repeat("\u00E9", 32) + "@example.com", strings.Repeat("\u00E9", 32) + "@example.com", nil},
		{"65-octet local part in 2-octet letters", "a" + strings.Repeat("\u00E9", 32) + "@example.com", "", ErrEmailSyntax},
		{"63-octet label", "a@" + long + ".com", "a@" + long + ".com", nil},
		{"64-octet label", "a@a" + long + ".com", "", ErrEmailSyntax},
		{"254-octet domain", "a@" + strings.Repeat(long+".", 3) + strings.Repeat("a", 58) + ".com", "", ErrEmailSyntax},
		{"253-octet domain, 255-octet address", "a@" + strings.Repeat(long+".", 3) + strings.Repeat("a", 57) + ".com", "", ErrEmailSyntax},
		{"254-octet address", "a@" + strings.Repeat(long+".", 3) + strings.Repeat("a", 56) + ".com", "a@" + strings.Repeat(long+".", 3) + strings.Repeat("a", 56) + ".com", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CanonicalEmail(c.in)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("CanonicalEmail(%+q) = %+q, %v; want %v", c.in, got, err, c.err)
				}
				var ee *EmailError
				if !errors.As(err, &ee) {
					t.Fatalf("error %T is not an *EmailError", err)
				}
				wantPrintableASCII(t, ee.Reason)
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("CanonicalEmail(%+q) = %+q, %v; want %+q", c.in, got, err, c.want)
			}
			if again, err := CanonicalEmail(got); err != nil || again != got {
				t.Fatalf("CanonicalEmail(%+q) = %+q, %v; not idempotent", got, again, err)
			}
		})
	}
}

// wantPrintableASCII checks that an error message shows no invisible or
// look-alike character raw.
func wantPrintableASCII(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r < ' ' || r > '~' {
			t.Errorf("the message %+q holds %U raw", s, r)
		}
	}
}

// The messages name what is wrong.
func TestCanonicalEmail_MessagesNameTheProblem(t *testing.T) {
	for in, want := range map[string]string{
		"victim@\u0130nstagram.com": "U+0130",
		"\u212Aelvin@example.com":   "U+212A",
		"a\u202E@example.com":       "U+202E",
		"p\u0430ypal@example.com":   "Latin and Cyrillic",
		"a@localhost":               "localhost",
		"a@[127.0.0.1]":             "address literals",
		`"a"@example.com`:           "quoted",
		"a\uFF20example.com":        "U+FF20",
		"ju\u0308rgen@example.de":   "normalization form C",
	} {
		_, err := CanonicalEmail(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CanonicalEmail(%+q) error %v, want it to mention %q", in, err, want)
		}
	}
}

func FuzzCanonicalEmail(f *testing.F) {
	for _, s := range []string{
		"a@example.com", "  Alice@Example.COM ", "victim@\u0130nstagram.com", "\u212Aelvin@example.com",
		"user@m\u00FCnchen.de", "user@xn--mnchen-3ya.de", "a@\u4F8B\u3048.jp", "p\u0430ypal@example.com",
		"a\u202E@example.com", "a@[127.0.0.1]", "a@localhost", `"a"@example.com`, "a\uFF20example.com",
		"ju\u0308rgen@example.de", "stra\u00DFe@stra\u00DFe.de", "a@example.com.", "a@xn--abc-.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CanonicalEmail(in)
		if err != nil {
			var ee *EmailError
			if !errors.As(err, &ee) || ee.Err == nil {
				t.Fatalf("CanonicalEmail(%+q) error %v is not an *EmailError with a class", in, err)
			}
			for _, r := range ee.Reason {
				if r < ' ' || r > '~' {
					t.Fatalf("CanonicalEmail(%+q): message %+q holds %U raw", in, ee.Reason, r)
				}
			}
			return
		}
		if !utf8.ValidString(got) {
			t.Fatalf("CanonicalEmail(%+q) = %+q, not UTF-8", in, got)
		}
		if strings.Count(got, "@") != 1 {
			t.Fatalf("CanonicalEmail(%+q) = %+q, not exactly one '@'", in, got)
		}
		if asciiLower(got) != got {
			t.Fatalf("CanonicalEmail(%+q) = %+q, has ASCII upper case", in, got)
		}
		if len(got) > maxAddressLen {
			t.Fatalf("CanonicalEmail(%+q) = %+q, longer than %d octets", in, got, maxAddressLen)
		}
		_, domain, _ := strings.Cut(got, "@")
		for _, r := range domain {
			if r >= utf8.RuneSelf || unicode.IsSpace(r) {
				t.Fatalf("CanonicalEmail(%+q) = %+q, domain not plain ASCII", in, got)
			}
		}
		again, err := CanonicalEmail(got)
		if err != nil || again != got {
			t.Fatalf("CanonicalEmail(%+q) = %+q, but CanonicalEmail of that = %+q, %v", in, got, again, err)
		}
	})
}
