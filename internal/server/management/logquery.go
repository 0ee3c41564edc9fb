package management

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// LogQuery is what a q of GET /api/v2/logs selects: the subset of Auth0's
// Lucene query syntax that Sesame answers.
type LogQuery struct {
	Types    []string // any of these (nil: every type)
	UserID   string
	ClientID string
	// Since <= date < Until; a zero bound is none.
	Since, Until time.Time
	// None: the terms contradict each other (type:s AND type:f), so
	// nothing matches.
	None bool
}

// MaxLogQuery is the longest q accepted, in bytes.
const MaxLogQuery = 1024

// logQueryHelp ends every message about a q that is refused.
const logQueryHelp = `; supported: type:s, type:"s", type:(s OR f), user_id:"…", client_id:"…", ` +
	`date:[2024-01-01 TO 2024-02-01] (or {…}, * for an open end, or date:2024-01-01), combined with AND`

// ParseLogQuery parses q, Auth0's Lucene query string for the logs, as far
// as Sesame supports it: terms on type, user_id, client_id and date joined
// by AND. Anything else (OR between terms, NOT, other fields, wildcards,
// fuzzy or boosted terms) is an error that says what is supported; it never
// quotes more than a few characters of q.
func ParseLogQuery(q string) (LogQuery, error) {
	var out LogQuery
	if len(q) > MaxLogQuery {
		return LogQuery{}, errors.New("q is longer than 1024 bytes" + logQueryHelp)
	}
	if !utf8.ValidString(q) {
		return LogQuery{}, errors.New("q is not valid UTF-8" + logQueryHelp)
	}
	p := &lqParser{s: q}
	p.space()
	if p.eof() {
		return out, nil
	}
	seen := map[string]bool{}
	for {
		field, err := p.field()
		if err != nil {
			return LogQuery{}, err
		}
		switch field {
		case "type":
			types, err := p.typeValue()
			if err != nil {
				return LogQuery{}, err
			}
			if seen["type"] {
				out.Types = slices.DeleteFunc(out.Types, func(t string) bool { return !slices.Contains(types, t) })
				if len(out.Types) == 0 {
					out.None = true
				}
			} else {
				out.Types = types
			}
		case "user_id", "client_id":
			v, err := p.term(field)
			if err != nil {
				return LogQuery{}, err
			}
			dst := &out.UserID
			if field == "client_id" {
				dst = &out.ClientID
			}
			if seen[field] && *dst != v {
				out.None = true
			}
			*dst = v
		case "date":
			since, until, err := p.dateValue()
			if err != nil {
				return LogQuery{}, err
			}
			if !since.IsZero() && (out.Since.IsZero() || since.After(out.Since)) {
				out.Since = since
			}
			if !until.IsZero() && (out.Until.IsZero() || until.Before(out.Until)) {
				out.Until = until
			}
		default:
			return LogQuery{}, errors.New("unsupported field " + quoteShort(field) + logQueryHelp)
		}
		seen[field] = true
		if !p.space() {
			if p.eof() {
				break
			}
			return LogQuery{}, p.unexpected()
		}
		if p.eof() {
			break
		}
		switch word := p.word(); word {
		case "AND", "&&":
		case "OR", "||", "NOT", "!":
			return LogQuery{}, errors.New(word + " between terms is not supported" + logQueryHelp)
		case "":
			return LogQuery{}, p.unexpected()
		default:
			return LogQuery{}, errors.New("terms must be joined by AND, got " + quoteShort(word) + logQueryHelp)
		}
		if !p.space() || p.eof() {
			return LogQuery{}, errors.New("a term must follow AND" + logQueryHelp)
		}
	}
	if !out.Since.IsZero() && !out.Until.IsZero() && !out.Since.Before(out.Until) {
		out.None = true
	}
	if out.None {
		out = LogQuery{None: true}
	}
	return out, nil
}

// lqParser reads a q from left to right.
type lqParser struct {
	s   string
	pos int
}

func (p *lqParser) eof() bool { return p.pos >= len(p.s) }

// space skips whitespace and reports whether there was any.
func (p *lqParser) space() bool {
	start := p.pos
	for !p.eof() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
	return p.pos > start
}

// word reads up to the next whitespace.
func (p *lqParser) word() string {
	start := p.pos
	for !p.eof() && !strings.ContainsRune(" \t\r\n", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *lqParser) unexpected() error {
	if p.eof() {
		return errors.New("q ends too early" + logQueryHelp)
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.pos:])
	return errors.New("unexpected " + quoteShort(string(r)) + logQueryHelp)
}

// field reads a field name and its colon.
func (p *lqParser) field() (string, error) {
	start := p.pos
	for !p.eof() && (isLower(p.s[p.pos]) || p.s[p.pos] == '_' || p.s[p.pos] == '.') {
		p.pos++
	}
	name := p.s[start:p.pos]
	if rest := p.s[start:]; name == "" && (strings.HasPrefix(rest, "NOT ") || strings.HasPrefix(rest, "!") ||
		strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+")) {
		return "", errors.New("NOT, !, - and + are not supported" + logQueryHelp)
	}
	if name == "" {
		if !p.eof() && (p.s[p.pos] == '"' || isBareByte(p.s[p.pos])) {
			return "", errors.New("a term needs a field (field:value)" + logQueryHelp)
		}
		return "", p.unexpected()
	}
	if p.eof() || p.s[p.pos] != ':' {
		if !p.eof() && isBareByte(p.s[p.pos]) {
			p.word()
			return "", errors.New("unsupported field or term" + logQueryHelp)
		}
		return "", errors.New("a term needs a field (field:value)" + logQueryHelp)
	}
	p.pos++
	return name, nil
}

func isLower(b byte) bool { return b >= 'a' && b <= 'z' }

// isBareByte: b may be in an unquoted term. Lucene's special characters,
// whitespace and a leading - or + are not.
func isBareByte(b byte) bool {
	return b > ' ' && !strings.ContainsRune(`"()[]{}:\^~*?!/`, rune(b)) && b != 0x7f
}

// term reads a quoted or bare value of field.
func (p *lqParser) term(field string) (string, error) {
	if p.eof() {
		return "", errors.New(field + " needs a value" + logQueryHelp)
	}
	var v string
	if p.s[p.pos] == '"' {
		s, err := p.quoted()
		if err != nil {
			return "", err
		}
		v = s
	} else {
		start := p.pos
		for !p.eof() && isBareByte(p.s[p.pos]) {
			p.pos++
		}
		v = p.s[start:p.pos]
		if !p.eof() && (p.s[p.pos] == '*' || p.s[p.pos] == '?') {
			return "", errors.New("wildcards are not supported" + logQueryHelp)
		}
		if !p.eof() && (p.s[p.pos] == '~' || p.s[p.pos] == '^') {
			return "", errors.New("fuzzy and boosted terms are not supported" + logQueryHelp)
		}
		if v == "" {
			if !p.eof() && p.s[p.pos] == '(' {
				return "", errors.New("groups are only supported for type" + logQueryHelp)
			}
			return "", errors.New(field + " needs a value" + logQueryHelp)
		}
		if v[0] == '-' || v[0] == '+' {
			return "", errors.New("+ and - before a term are not supported" + logQueryHelp)
		}
	}
	if !p.eof() && p.s[p.pos] != ' ' && p.s[p.pos] != '\t' && p.s[p.pos] != '\r' && p.s[p.pos] != '\n' && p.s[p.pos] != ')' {
		return "", p.unexpected()
	}
	if v == "" {
		return "", errors.New(field + " needs a value" + logQueryHelp)
	}
	return v, nil
}

// quoted reads a "quoted string" (\" and \\ escape).
func (p *lqParser) quoted() (string, error) {
	p.pos++ // the opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.s) {
				return "", errors.New("a quoted value is not closed" + logQueryHelp)
			}
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", errors.New("a quoted value is not closed" + logQueryHelp)
}

// typeValue reads type's value: a term or (t1 OR t2 …).
func (p *lqParser) typeValue() ([]string, error) {
	if p.eof() || p.s[p.pos] != '(' {
		t, err := p.term("type")
		if err != nil {
			return nil, err
		}
		if err := checkType(t); err != nil {
			return nil, err
		}
		return []string{t}, nil
	}
	p.pos++
	var types []string
	for {
		p.space()
		t, err := p.term("type")
		if err != nil {
			return nil, err
		}
		if err := checkType(t); err != nil {
			return nil, err
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
		p.space()
		if p.eof() {
			return nil, errors.New("a group is not closed" + logQueryHelp)
		}
		if p.s[p.pos] == ')' {
			p.pos++
			return types, nil
		}
		switch w := p.groupWord(); w {
		case "OR", "||":
		case "AND", "&&":
			return nil, errors.New("an event has one type: join types with OR inside the group" + logQueryHelp)
		default:
			// Lucene's default operator between terms of a group is OR.
			p.pos -= len(w)
		}
	}
}

// groupWord reads a word inside a group (up to whitespace or ')').
func (p *lqParser) groupWord() string {
	start := p.pos
	for !p.eof() && !strings.ContainsRune(" \t\r\n)", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// checkType: Auth0's type codes are short words of letters, digits and _.
func checkType(t string) error {
	if len(t) > 32 {
		return errors.New("a type is at most 32 characters" + logQueryHelp)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return errors.New("a type is letters, digits and _ (an event type code such as s, f or fepotpft)" + logQueryHelp)
		}
	}
	return nil
}

// dateValue reads date's value: [a TO b], {a TO b} (or mixed), * for an
// open end, or one day or instant.
func (p *lqParser) dateValue() (since, until time.Time, err error) {
	if p.eof() {
		return time.Time{}, time.Time{}, errors.New("date needs a value" + logQueryHelp)
	}
	open := p.s[p.pos]
	if open != '[' && open != '{' {
		v, err := p.term("date")
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		t, day, err := parseLogDate(v)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		if day {
			return t, t.AddDate(0, 0, 1), nil
		}
		return t, t.Add(time.Millisecond), nil
	}
	p.pos++
	p.space()
	from := p.rangeTerm()
	p.space()
	if w := p.groupWord(); w != "TO" {
		return time.Time{}, time.Time{}, errors.New("a date range is [from TO to]" + logQueryHelp)
	}
	p.space()
	to := p.rangeTerm()
	p.space()
	if p.eof() || (p.s[p.pos] != ']' && p.s[p.pos] != '}') {
		return time.Time{}, time.Time{}, errors.New("a date range is [from TO to], closed by ] or }" + logQueryHelp)
	}
	closeIncl := p.s[p.pos] == ']'
	p.pos++
	if from != "*" {
		t, day, err := parseLogDate(from)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		switch {
		case open == '[':
			since = t
		case day: // after that whole day
			since = t.AddDate(0, 0, 1)
		default:
			since = t.Add(time.Millisecond)
		}
	}
	if to != "*" {
		t, day, err := parseLogDate(to)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		switch {
		case !closeIncl:
			until = t
		case day: // up to the end of that day, as Elasticsearch rounds it
			until = t.AddDate(0, 0, 1)
		default:
			until = t.Add(time.Millisecond)
		}
	}
	return since, until, nil
}

// rangeTerm reads one end of a range: quoted, or up to whitespace or the
// closing bracket.
func (p *lqParser) rangeTerm() string {
	if !p.eof() && p.s[p.pos] == '"' {
		v, err := p.quoted()
		if err != nil {
			return "\x00" // refused by parseLogDate
		}
		return v
	}
	start := p.pos
	for !p.eof() && !strings.ContainsRune(" \t\r\n]}", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// parseLogDate reads a day (2024-01-31, day true) or an instant in RFC
// 3339 (2024-01-31T10:00:00Z, 2024-01-31T10:00:00.123+02:00), in UTC and
// to the millisecond.
func parseLogDate(s string) (t time.Time, day bool, err error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.UTC(), true, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil && t.Year() >= 1 && t.Year() <= 9999 {
		return t.UTC().Truncate(time.Millisecond), false, nil
	}
	return time.Time{}, false, errors.New("a date is YYYY-MM-DD or an RFC 3339 time (2024-01-31T10:00:00Z), got " + quoteShort(s) + logQueryHelp)
}

// quoteShort quotes s, cut to 32 bytes, for an error message.
func quoteShort(s string) string {
	if len(s) > 32 {
		cut := 32
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
