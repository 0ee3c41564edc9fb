package passwordless

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// The classes of refusal of CanonicalEmail; an *EmailError wraps one.
var (
	// ErrEmailMissing: nothing but whitespace.
	ErrEmailMissing = errors.New("email: missing")
	// ErrEmailSyntax: not a bare address of the accepted shape (no '@',
	// quoted local part, address literal, dotless domain, IP address, bad
	// dots, lengths, a domain that is no host name).
	ErrEmailSyntax = errors.New("email: syntax")
	// ErrEmailCharacter: a character no address may hold (not UTF-8,
	// control, invisible or formatting, whitespace, private use,
	// unassigned, U+FFFD, a non-ASCII symbol in the local part).
	ErrEmailCharacter = errors.New("email: character")
	// ErrEmailNotCanonical: a spelling that Unicode normalisation or the
	// IDNA mapping would turn into another address (not NFC, compatibility
	// characters, non-ASCII upper case, look-alike dots): refused rather
	// than silently folded, so that what is typed is what is mailed.
	ErrEmailNotCanonical = errors.New("email: not canonical")
	// ErrEmailMixedScript: the local part or a domain label mixes scripts
	// beyond what UTS #39's Highly Restrictive level allows.
	ErrEmailMixedScript = errors.New("email: mixed scripts")
)

// EmailError says why an address has no canonical form. Reason is written
// for a developer and never holds an invisible or non-ASCII character raw:
// those are named by code point.
type EmailError struct {
	Err    error // one of the ErrEmail… classes
	Reason string
}

func (e *EmailError) Error() string { return e.Reason }
func (e *EmailError) Unwrap() error { return e.Err }

func emailErr(class error, format string, args ...any) *EmailError {
	return &EmailError{Err: class, Reason: fmt.Sprintf(format, args...)}
}

// Limits of RFC 5321 (§4.5.3.1) in octets; an address is at most what fits
// in a 256-octet path with its angle brackets.
const (
	maxLocalLen   = 64
	maxDomainLen  = 253
	maxLabelLen   = 63
	maxAddressLen = 254
)

// CanonicalEmail is the one canonical form of an email address: the
// identifier that is stored, compared, answered and mailed. A message is
// only ever sent to the string it returns, so two inputs that give the
// same result must reach the same mailbox, and an input that could be read
// or delivered as another address is refused instead of folded.
//
// The rules, in order (docs/SECURITY.md repeats them):
//   - surrounding ASCII whitespace is trimmed; the rest must be valid
//     UTF-8 and hold no control, format (bidi controls, zero-width
//     characters, soft hyphen), other default-ignorable, whitespace,
//     private-use, unassigned or U+FFFD character anywhere;
//   - the address splits at its last ASCII '@' (U+FF20 is not one);
//   - local part: 1 to 64 octets, not quoted, no leading, trailing or
//     double dot; ASCII characters are RFC 5322 atext and are folded to
//     lower case; non-ASCII characters must be letters, marks or digits,
//     not upper case, in NFC and unchanged by NFKC (so no Kelvin sign,
//     fullwidth letter or ligature), with no mark at the start or after a
//     symbol or dot, no U+0307 on a soft-dotted letter and no mark
//     repeated; and the local part uses one script or one of UTS #39's
//     Highly Restrictive combinations;
//   - domain: no address literal ([…]), at least two labels, none empty,
//     not an IP address and no all-digit top-level label; it must be
//     valid under UTS #46 (x/net/idna Lookup: non-transitional, STD3
//     rules, hyphen, joiner and bidi checks) and already be what the
//     mapping gives back up to ASCII case, either as U-labels in NFC or as
//     A-labels; each label is checked like the local part for characters
//     and scripts; labels are at most 63 octets and the A-label domain at
//     most 253;
//   - the result is the lower-cased local part, '@', and the domain's
//     A-labels in lower case, at most 254 octets.
//
// CanonicalEmail(CanonicalEmail(x)) == CanonicalEmail(x).
func CanonicalEmail(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", emailErr(ErrEmailCharacter, "the address is not valid UTF-8")
	}
	s := strings.Trim(raw, " \t\n\v\f\r")
	if s == "" {
		return "", emailErr(ErrEmailMissing, "the address is empty")
	}
	if err := checkRunes(s, "the address"); err != nil {
		return "", err
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		for _, r := range []rune{'\uFF20', '\uFE6B'} {
			if strings.ContainsRune(s, r) {
				return "", emailErr(ErrEmailSyntax, "the address has no '@' (%s is a look-alike, not an '@')", codePoint(r))
			}
		}
		return "", emailErr(ErrEmailSyntax, "the address has no '@'")
	}
	local, err := canonicalLocal(s[:at])
	if err != nil {
		return "", err
	}
	domain, err := canonicalDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	out := local + "@" + domain
	if len(out) > maxAddressLen {
		return "", emailErr(ErrEmailSyntax, "the address is %d octets long, more than %d", len(out), maxAddressLen)
	}
	return out, nil
}

// checkRunes refuses the characters that no part of an address may hold.
func checkRunes(s, where string) error {
	for _, r := range s {
		var what string
		switch {
		case r == utf8.RuneError:
			what = "the replacement character"
		case unicode.Is(unicode.Cc, r):
			what = "a control character"
		case unicode.Is(unicode.White_Space, r) || unicode.In(r, unicode.Z):
			what = "whitespace"
		case unicode.Is(unicode.Cf, r):
			what = "an invisible formatting character (bidi control, zero-width character or soft hyphen)"
		case unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) || r == '\u2800' || r == '\uFFFC':
			what = "an invisible character"
		case unicode.Is(unicode.Co, r):
			what = "a private-use character"
		case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
			what = "an unassigned code point"
		default:
			continue
		}
		return emailErr(ErrEmailCharacter, "%s contains %s, %s", where, what, codePoint(r))
	}
	return nil
}

// atext are the ASCII characters of an RFC 5322 dot-atom besides the dot.
const atextSymbols = "!#$%&'*+-/=?^_`{|}~"

func canonicalLocal(local string) (string, error) {
	switch {
	case local == "":
		return "", emailErr(ErrEmailSyntax, "the local part (before the '@') is empty")
	case strings.HasPrefix(local, `"`):
		return "", emailErr(ErrEmailSyntax, "quoted local parts are not accepted")
	case len(local) > maxLocalLen:
		return "", emailErr(ErrEmailSyntax, "the local part is %d octets long, more than %d", len(local), maxLocalLen)
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return "", emailErr(ErrEmailSyntax, "the local part has a leading, trailing or double dot")
	}
	var prev rune // the rune before r, 0 at the start
	for _, r := range local {
		if r < utf8.RuneSelf {
			if !isASCIIAlnum(r) && r != '.' && !strings.ContainsRune(atextSymbols, r) {
				return "", emailErr(ErrEmailSyntax, "the local part contains %s, which needs quoting (quoted local parts are not accepted)", codePoint(r))
			}
			prev = r
			continue
		}
		if !unicode.In(r, unicode.L, unicode.M, unicode.N) {
			return "", emailErr(ErrEmailCharacter, "the local part contains %s; its non-ASCII characters must be letters, marks or digits", codePoint(r))
		}
		if err := checkMark(prev, r, "the local part"); err != nil {
			return "", err
		}
		prev = r
	}
	if err := checkNormalForms(local, "the local part"); err != nil {
		return "", err
	}
	for _, r := range local {
		if r >= utf8.RuneSelf && (unicode.IsUpper(r) || unicode.IsTitle(r)) {
			return "", emailErr(ErrEmailNotCanonical, "the local part contains the upper-case letter %s; write it in lower case", codePoint(r))
		}
	}
	if err := checkScripts(local, "the local part"); err != nil {
		return "", err
	}
	return asciiLower(local), nil
}

// checkMark refuses a combining mark that stands where it would decorate
// something other than a letter or digit, U+0307 on a soft-dotted letter
// (i + U+0307 reads as i), and a mark repeated (UTS #39 §5.4).
func checkMark(prev, r rune, where string) error {
	if !unicode.Is(unicode.M, r) {
		return nil
	}
	switch {
	case prev == 0 || !unicode.In(prev, unicode.L, unicode.M, unicode.N):
		return emailErr(ErrEmailCharacter, "%s has the combining mark %s where it combines with no letter", where, codePoint(r))
	case r == '\u0307' && unicode.Is(unicode.Soft_Dotted, prev):
		return emailErr(ErrEmailNotCanonical, "%s has U+0307 COMBINING DOT ABOVE on the dotted letter %s", where, codePoint(prev))
	case r == prev:
		return emailErr(ErrEmailNotCanonical, "%s repeats the combining mark %s", where, codePoint(r))
	}
	return nil
}

// checkNormalForms refuses what NFC or NFKC would change, naming the
// first character that changes on its own when there is one.
func checkNormalForms(s, where string) error {
	if !norm.NFC.IsNormalString(s) {
		for _, r := range s {
			if c := string(r); norm.NFC.String(c) != c {
				return emailErr(ErrEmailNotCanonical, "%s contains %s, which Unicode normalization (NFC) replaces with %s", where, codePoint(r), codePoints(norm.NFC.String(c)))
			}
		}
		return emailErr(ErrEmailNotCanonical, "%s is not in Unicode normalization form C: a letter and its combining mark must be one precomposed character", where)
	}
	if norm.NFKC.String(s) != s {
		for _, r := range s {
			if c := string(r); norm.NFKC.String(c) != c {
				return emailErr(ErrEmailNotCanonical, "%s contains the compatibility character %s, which stands for %s", where, codePoint(r), codePoints(norm.NFKC.String(c)))
			}
		}
		return emailErr(ErrEmailNotCanonical, "%s changes under Unicode compatibility normalization (NFKC)", where)
	}
	return nil
}

func canonicalDomain(domain string) (string, error) {
	switch {
	case domain == "":
		return "", emailErr(ErrEmailSyntax, "the domain (after the '@') is empty")
	case strings.HasPrefix(domain, "["):
		return "", emailErr(ErrEmailSyntax, "address literals such as [127.0.0.1] are not accepted")
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return "", emailErr(ErrEmailSyntax, "the domain is an IP address")
	}
	for _, r := range []rune{'\u3002', '\uFF0E', '\uFF61'} {
		if strings.ContainsRune(domain, r) {
			return "", emailErr(ErrEmailNotCanonical, "the domain contains %s; separate its labels with an ASCII '.'", codePoint(r))
		}
	}
	d := asciiLower(domain)
	labels := strings.Split(d, ".")
	if slices.Contains(labels, "") {
		return "", emailErr(ErrEmailSyntax, "the domain has an empty label (a leading, trailing or double dot)")
	}
	if len(labels) < 2 {
		return "", emailErr(ErrEmailSyntax, "the domain has no dot; local names such as localhost are not accepted")
	}
	if isDigits(labels[len(labels)-1]) {
		return "", emailErr(ErrEmailSyntax, "the domain's last label is all digits, as in an IP address")
	}

	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		for _, l := range labels {
			if _, err := idna.Lookup.ToASCII(l); err != nil {
				return "", emailErr(ErrEmailSyntax, "the domain label %s is not a valid host name label (UTS #46)", quote(l))
			}
		}
		return "", emailErr(ErrEmailSyntax, "the domain is not a valid host name (UTS #46 bidi rule)")
	}
	u, err := idna.Lookup.ToUnicode(a)
	if err != nil {
		return "", emailErr(ErrEmailSyntax, "the domain is not a valid host name (UTS #46)")
	}
	if again, err := idna.Lookup.ToASCII(u); err != nil || again != a {
		return "", emailErr(ErrEmailNotCanonical, "the domain's A-labels are not in their canonical form")
	}
	aLabels, uLabels := strings.Split(a, "."), strings.Split(u, ".")
	if len(aLabels) != len(labels) || len(uLabels) != len(labels) {
		return "", emailErr(ErrEmailNotCanonical, "the IDNA mapping changes the domain's labels")
	}
	for i, l := range labels {
		ul := uLabels[i]
		if l != aLabels[i] && l != ul {
			// Typed as neither the A-label nor the U-label: the mapping
			// folded something beyond ASCII case.
			if err := checkNormalForms(l, "the domain"); err != nil {
				return "", err
			}
			for _, r := range l {
				if c := string(r); r >= utf8.RuneSelf {
					if m, _ := idna.Lookup.ToUnicode(c); m != c {
						return "", emailErr(ErrEmailNotCanonical, "the domain contains %s, which IDNA maps to %s; type the domain as it is registered", codePoint(r), codePoints(m))
					}
				}
			}
			return "", emailErr(ErrEmailNotCanonical, "the domain label %s is not the form IDNA gives back (%s)", quote(l), quote(ul))
		}
		// The checks on characters and scripts apply to the U-label, so
		// that a label typed as an A-label gets them too.
		if err := checkRunes(ul, "the domain"); err != nil {
			return "", err
		}
		var prev rune
		for _, r := range ul {
			if err := checkMark(prev, r, "the domain"); err != nil {
				return "", err
			}
			prev = r
		}
		if err := checkScripts(ul, "the domain label "+quote(ul)); err != nil {
			return "", err
		}
		if len(aLabels[i]) > maxLabelLen {
			return "", emailErr(ErrEmailSyntax, "a domain label is %d octets long, more than %d", len(aLabels[i]), maxLabelLen)
		}
	}
	if len(a) > maxDomainLen {
		return "", emailErr(ErrEmailSyntax, "the domain is %d octets long, more than %d", len(a), maxDomainLen)
	}
	return a, nil
}

// The script sets that UTS #39's Highly Restrictive level allows besides a
// single script: Latin with the scripts of Japanese, Chinese and Korean.
var allowedScriptSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// scriptTables are the Unicode scripts that count for mixing (all but
// Common and Inherited), in a fixed order.
var scriptTables = sync.OnceValue(func() []script {
	var out []script
	for name, t := range unicode.Scripts {
		if name != "Common" && name != "Inherited" {
			out = append(out, script{name, t})
		}
	}
	slices.SortFunc(out, func(a, b script) int { return strings.Compare(a.name, b.name) })
	return out
})

type script struct {
	name  string
	table *unicode.RangeTable
}

// checkScripts refuses s when its characters' scripts (Common and
// Inherited aside) are not one script or one of allowedScriptSets. It uses
// the Script property; Script_Extensions would only allow more.
func checkScripts(s, where string) error {
	var seen []string
	var first rune // the first character of a script other than the first
	for _, r := range s {
		name := ""
		if r < utf8.RuneSelf {
			if isASCIIAlpha(r) {
				name = "Latin"
			}
		} else {
			for _, sc := range scriptTables() {
				if unicode.Is(sc.table, r) {
					name = sc.name
					break
				}
			}
		}
		if name != "" && !slices.Contains(seen, name) {
			seen = append(seen, name)
			if len(seen) == 2 {
				first = r
			}
		}
	}
	if len(seen) <= 1 {
		return nil
	}
	for _, set := range allowedScriptSets {
		if allIn(seen, set) {
			return nil
		}
	}
	return emailErr(ErrEmailMixedScript, "%s mixes the %s scripts (%s is %s); use one script", where, strings.Join(seen, " and "), codePoint(first), seen[1])
}

func allIn(xs, set []string) bool {
	for _, x := range xs {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isASCIIAlpha(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
func isASCIIAlnum(r rune) bool { return isASCIIAlpha(r) || '0' <= r && r <= '9' }

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// codePoint names a character for an error message: printable ASCII
// shown quoted, everything else by its code point only, so that no
// invisible or look-alike character reaches a message raw.
func codePoint(r rune) string {
	if r > ' ' && r < utf8.RuneSelf && r != 0x7f {
		return fmt.Sprintf("'%c' (U+%04X)", r, r)
	}
	return fmt.Sprintf("U+%04X", r)
}

func codePoints(s string) string {
	var parts []string
	for _, r := range s {
		parts = append(parts, codePoint(r))
	}
	return strings.Join(parts, " ")
}

// quote shows a label with everything outside printable ASCII escaped.
func quote(s string) string { return strconv.QuoteToASCII(s) }
