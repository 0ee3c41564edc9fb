package management

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseLogQuery(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return v.UTC()
	}
	for _, c := range []struct {
		q    string
		want LogQuery
	}{
		{``, LogQuery{}},
		{`   `, LogQuery{}},
		{`type:s`, LogQuery{Types: []string{"s"}}},
		{`type:"fepotpft"`, LogQuery{Types: []string{"fepotpft"}}},
		{`type:(s OR f)`, LogQuery{Types: []string{"s", "f"}}},
		{`type:( s || "f"  fepotpft )`, LogQuery{Types: []string{"s", "f", "fepotpft"}}},
		{`type:(s OR f) AND type:(f OR fs)`, LogQuery{Types: []string{"f"}}},
		{`type:s AND type:f`, LogQuery{None: true}},
		{`user_id:"email|5ed9465f580a1d9af47e7ffa"`, LogQuery{UserID: "email|5ed9465f580a1d9af47e7ffa"}},
		{`user_id:email|5ed9465f580a1d9af47e7ffa`, LogQuery{UserID: "email|5ed9465f580a1d9af47e7ffa"}},
		{`user_id:"a\"b\\c"`, LogQuery{UserID: `a"b\c`}},
		{`client_id:abc AND user_id:"x" && type:s`, LogQuery{ClientID: "abc", UserID: "x", Types: []string{"s"}}},
		{`client_id:a AND client_id:b`, LogQuery{None: true}},
		{`client_id:a AND client_id:"a"`, LogQuery{ClientID: "a"}},
		{`date:[2024-01-01 TO 2024-02-01]`, LogQuery{Since: day("2024-01-01"), Until: day("2024-02-02")}},
		{`date:{2024-01-01 TO 2024-02-01}`, LogQuery{Since: day("2024-01-02"), Until: day("2024-02-01")}},
		{`date:[* TO 2024-02-01}`, LogQuery{Until: day("2024-02-01")}},
		{`date:[2024-01-01 TO *]`, LogQuery{Since: day("2024-01-01")}},
		{`date:[* TO *]`, LogQuery{}},
		{`date:2024-01-31`, LogQuery{Since: day("2024-01-31"), Until: day("2024-02-01")}},
		{`date:[2024-01-01T10:00:00Z TO "2024-01-01T12:00:00.5+01:00"]`,
			LogQuery{Since: ts("2024-01-01T10:00:00Z"), Until: ts("2024-01-01T11:00:00.501Z")}},
		{`date:{2024-01-01T10:00:00.123Z TO *]`, LogQuery{Since: ts("2024-01-01T10:00:00.124Z")}},
		{`date:[2024-03-01 TO 2024-02-01]`, LogQuery{None: true}},
		{`date:[2024-01-01 TO 2024-03-01] AND date:[2024-02-01 TO *]`, LogQuery{Since: day("2024-02-01"), Until: day("2024-03-02")}},
	} {
		got, err := ParseLogQuery(c.q)
		if err != nil {
			t.Errorf("ParseLogQuery(%q): %v", c.q, err)
			continue
		}
		if !slices.Equal(got.Types, c.want.Types) || got.UserID != c.want.UserID || got.ClientID != c.want.ClientID ||
			!got.Since.Equal(c.want.Since) || !got.Until.Equal(c.want.Until) || got.None != c.want.None {
			t.Errorf("ParseLogQuery(%q) = %+v, want %+v", c.q, got, c.want)
		}
	}
}

func TestParseLogQuery_Refuses(t *testing.T) {
	for _, c := range []struct{ q, says string }{
		{`s`, "needs a field"},
		{`"s"`, "needs a field"},
		{`type:s OR type:f`, "OR between terms is not supported"},
		{`type:s type:f`, "joined by AND"},
		{`NOT type:s`, "NOT, !, - and + are not supported"},
		{`type:s AND NOT type:f`, "NOT, !, - and + are not supported"},
		{`type:s AND -type:f`, "NOT, !, - and + are not supported"},
		{`type:s AND`, "a term must follow AND"},
		{`connection:email`, `unsupported field "connection"`},
		{`description:*fail*`, `unsupported field "description"`},
		{`user_id:email*`, "wildcards"},
		{`user_id:foo~2`, "fuzzy"},
		{`type:s^2`, "fuzzy and boosted"},
		{`user_id:(a OR b)`, "groups are only supported for type"},
		{`type:(s AND f)`, "join types with OR"},
		{`type:(s OR f`, "not closed"},
		{`user_id:"abc`, "not closed"},
		{`type:s-x!`, "unexpected"},
		{`type:"s f"`, "letters, digits and _"},
		{`date:[2024-01-01 2024-02-01]`, "[from TO to]"},
		{`date:[2024-01-01 TO 2024-02-01`, "closed by ] or }"},
		{`date:yesterday`, "YYYY-MM-DD"},
		{`date:[now-1d TO now]`, "YYYY-MM-DD"},
		{`user_id:`, "needs a value"},
		{`user_id:""`, "needs a value"},
		{`type:s ` + strings.Repeat("x", 2000), "longer than 1024"},
		{"type:\xff", "UTF-8"},
		{`+type:s`, "are not supported"},
		{`user_id:-x`, "+ and -"},
	} {
		_, err := ParseLogQuery(c.q)
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "supported: type:s") {
			t.Errorf("ParseLogQuery(%q) = %v, want an error saying %q and what is supported", c.q, err, c.says)
		}
	}
}

// FuzzParseLogQuery: any q is parsed or refused with a message, never a
// panic; a parsed q is consistent (a contradiction selects nothing, types
// are type codes, the dates are in order), and the message never quotes
// much of q.
func FuzzParseLogQuery(f *testing.F) {
	for _, seed := range []string{
		``, `type:s`, `type:"s"`, `type:(s OR f OR fepotpft)`, `user_id:"email|5ed9465f580a1d9af47e7ffa"`,
		`client_id:abc AND type:s`, `date:[2024-01-01 TO 2024-02-01]`, `date:[* TO 2024-02-01T10:00:00.000Z}`,
		`date:{"2024-01-01T10:00:00Z" TO *]`, `type:s AND type:f`, `type:s OR f`, `user_id:"a\"b`, `((((`,
		`date:[9999-12-31 TO *]`, `date:[0000-01-01T00:00:00Z TO *]`, "type:\xff", `a:b:c`, `type:(`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got, err := ParseLogQuery(q)
		if err != nil {
			if len(err.Error()) > len(logQueryHelp)+200 {
				t.Fatalf("ParseLogQuery(%q): a message of %d bytes", q, len(err.Error()))
			}
			return
		}
		if got.None {
			if got.Types != nil || got.UserID != "" || got.ClientID != "" || !got.Since.IsZero() || !got.Until.IsZero() {
				t.Fatalf("ParseLogQuery(%q) = %+v: None with filters", q, got)
			}
			return
		}
		for _, typ := range got.Types {
			if checkType(typ) != nil || typ == "" {
				t.Fatalf("ParseLogQuery(%q): type %q", q, typ)
			}
		}
		if !got.Since.IsZero() && !got.Until.IsZero() && !got.Since.Before(got.Until) {
			t.Fatalf("ParseLogQuery(%q): since %v not before until %v", q, got.Since, got.Until)
		}
	})
}
