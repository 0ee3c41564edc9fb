package management

import (
	"net/http"
	"strconv"
	"strings"
)

// Page is a list request's page, as Auth0 pages lists: page (0-based),
// per_page (default 50, at most 100), include_totals.
type Page struct {
	Number        int  // page, from 0
	PerPage       int  // per_page
	IncludeTotals bool // include_totals: wrap the items with start, limit, length and total
}

// Paging defaults and bounds, Auth0's.
const (
	DefaultPerPage = 50
	MaxPerPage     = 100
)

// ParsePage reads page, per_page and include_totals from the query. Values
// that are not numbers or out of bounds are a 400 invalid_query_string.
func ParsePage(r *http.Request) (Page, error) {
	q := r.URL.Query()
	p := Page{PerPage: DefaultPerPage}
	var err error
	if p.Number, err = queryInt(q.Get("page"), "page", 0, 0, 1<<20); err != nil {
		return Page{}, err
	}
	if p.PerPage, err = queryInt(q.Get("per_page"), "per_page", DefaultPerPage, 1, MaxPerPage); err != nil {
		return Page{}, err
	}
	if p.IncludeTotals, err = QueryBool(r, "include_totals", false); err != nil {
		return Page{}, err
	}
	return p, nil
}

func queryInt(s, name string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, InvalidQuery("'Invalid type: string (expected integer)' on property " + name)
	}
	if n < lo {
		return 0, InvalidQuery("'Value " + s + " is less than minimum " + strconv.Itoa(lo) + "' on property " + name)
	}
	if n > hi {
		return 0, InvalidQuery("'Value " + s + " is greater than maximum " + strconv.Itoa(hi) + "' on property " + name)
	}
	return n, nil
}

// QueryBool reads a true/false query parameter; absent gives def.
func QueryBool(r *http.Request, name string, def bool) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, InvalidQuery("'Invalid type: string (expected boolean)' on property " + name)
	}
}

// Window returns the bounds of the page in a list of n items: items
// [start:end] are on it.
func (p Page) Window(n int) (start, end int) {
	start = min(p.Number*p.PerPage, n)
	end = min(start+p.PerPage, n)
	return start, end
}

// WriteList answers a page of a list: with include_totals
// {"start","limit","length","total","<key>":[...]}, else the bare array.
// items are the page's items; total is the length of the whole list.
func WriteList[T any](w http.ResponseWriter, p Page, key string, items []T, total int) {
	if items == nil {
		items = []T{}
	}
	if !p.IncludeTotals {
		WriteJSON(w, http.StatusOK, items)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"start":  p.Number * p.PerPage,
		"limit":  p.PerPage,
		"length": len(items),
		"total":  total,
		key:      items,
	})
}

// WritePage answers the page p of the whole list all, as WriteList.
func WritePage[T any](w http.ResponseWriter, p Page, key string, all []T) {
	start, end := p.Window(len(all))
	WriteList(w, p, key, all[start:end], len(all))
}

// Fields is a request's fields and include_fields: which fields of each
// object to answer with.
type Fields struct {
	names   map[string]bool // nil: every field
	include bool
}

// ParseFields reads fields (comma-separated names) and include_fields
// (true, the default: only those; false: all but those).
func ParseFields(r *http.Request) (Fields, error) {
	include, err := QueryBool(r, "include_fields", true)
	if err != nil {
		return Fields{}, err
	}
	f := Fields{include: include}
	if list := r.URL.Query().Get("fields"); list != "" {
		f.names = map[string]bool{}
		for _, n := range strings.Split(list, ",") {
			if n = strings.TrimSpace(n); n != "" {
				f.names[n] = true
			}
		}
	}
	return f, nil
}

// Apply keeps the fields of m that f asks for; m is modified and returned.
func (f Fields) Apply(m map[string]any) map[string]any {
	if f.names == nil {
		return m
	}
	for k := range m {
		if f.names[k] != f.include {
			delete(m, k)
		}
	}
	return m
}
