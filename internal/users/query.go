package users

import (
	"context"
	"strconv"
	"strings"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/sms"
	"github.com/sesame-id/sesame/internal/store"
)

// The fields a user search (the q of GET /api/v2/users) may name.
const (
	FieldEmail       = "email"
	FieldPhoneNumber = "phone_number"
	FieldUserID      = "user_id"
	// FieldConnection is how Auth0's search engines v2 and v3 filter by
	// connection (the connection parameter works with v1 only there).
	FieldConnection = "identities.connection"
)

// maxQuery bounds q, so that a parse never walks a large input.
const maxQuery = 1024

// Paging of GET /api/v2/users, as Auth0 pages.
const (
	DefaultPerPage = 50
	MaxPerPage     = 100
)

func invalidQuery(msg string) *Error {
	return &Error{Kind: fault.Invalid, Code: CodeInvalidQuery, Message: msg}
}

// errQueryForm says what ParseQuery understands.
const errQueryForm = `: Sesame supports one exact match, email:"…", phone_number:"…", user_id:"…" or identities.connection:"…" (quotes optional for a value without spaces or special characters), and nothing else of Auth0's query syntax`

// ParseQuery reads the q of GET /api/v2/users in the subset of Auth0's
// (Lucene) query syntax that Sesame answers: one exact match on one field,
// email, phone_number, user_id or identities.connection, as field:"value" (in the quotes, \" and
// \\ stand for " and \) or field:value with a bare value. A bare value
// follows Lucene's term rules: it may not start with + or -, and it holds
// no white space, no wildcards (* ?) and none of " ( ) [ ] { } ^ ~ : ! / \
// unless escaped with \. Space around the field, the colon and the value
// is allowed. Anything else (several clauses, operators, ranges, wildcards,
// other fields, an empty value) is an invalid_query_string error that says
// what is supported. An empty q is no filter: field and value are "".
func ParseQuery(q string) (field, value string, err error) {
	if len(q) > maxQuery {
		return "", "", invalidQuery("The query is longer than " + strconv.Itoa(maxQuery) + " bytes" + errQueryForm)
	}
	s := strings.TrimSpace(q)
	if s == "" {
		return "", "", nil
	}
	name, rest, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	switch {
	case !ok:
		return "", "", invalidQuery("The query has no field" + errQueryForm)
	case name != FieldEmail && name != FieldPhoneNumber && name != FieldUserID && name != FieldConnection:
		return "", "", invalidQuery("The query field " + strconv.Quote(name) + " is not supported" + errQueryForm)
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	var b strings.Builder
	i := 0
	if strings.HasPrefix(rest, `"`) {
		closed := false
		for i = 1; i < len(rest); i++ {
			c := rest[i]
			if c == '\\' && i+1 < len(rest) {
				i++
				b.WriteByte(rest[i])
				continue
			}
			if c == '"' {
				closed = true
				i++
				break
			}
			b.WriteByte(c)
		}
		if !closed {
			return "", "", invalidQuery("The query's quoted value is not closed" + errQueryForm)
		}
	} else {
		for ; i < len(rest); i++ {
			c := rest[i]
			if c == '\\' {
				if i+1 == len(rest) {
					return "", "", invalidQuery("The query ends in an escape" + errQueryForm)
				}
				i++
				b.WriteByte(rest[i])
				continue
			}
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			switch {
			case c == '*' || c == '?':
				return "", "", invalidQuery("Wildcards are not supported" + errQueryForm)
			case strings.IndexByte(`"()[]{}^~:!/`, c) >= 0, i == 0 && (c == '+' || c == '-'):
				return "", "", invalidQuery("The query's value has a special character; quote it" + errQueryForm)
			}
			b.WriteByte(c)
		}
	}
	if strings.TrimSpace(rest[i:]) != "" {
		return "", "", invalidQuery("The query has more than one clause" + errQueryForm)
	}
	if b.Len() == 0 {
		return "", "", invalidQuery("The query's value is empty" + errQueryForm)
	}
	return name, b.String(), nil
}

// FormatQuery is the q that ParseQuery reads as field and value.
func FormatQuery(field, value string) string {
	return field + `:"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
}

// ParseSort reads the sort of GET /api/v2/users: created_at or last_login,
// then :1 (ascending) or :-1 (descending). Empty is created_at:1.
func ParseSort(sort string) (store.UserSort, bool, error) {
	if sort == "" {
		return store.SortCreatedAt, false, nil
	}
	field, dir, _ := strings.Cut(sort, ":")
	var by store.UserSort
	switch field {
	case "created_at":
		by = store.SortCreatedAt
	case "last_login":
		by = store.SortLastLogin
	default:
		return 0, false, invalidQuery("Sorting by " + strconv.Quote(field) + " is not supported: sort by created_at or last_login")
	}
	switch dir {
	case "1":
		return by, false, nil
	case "-1":
		return by, true, nil
	}
	return 0, false, invalidQuery("The sort " + strconv.Quote(sort) + " is not field:1 or field:-1")
}

// ListRequest is the query string of GET /api/v2/users, decoded.
type ListRequest struct {
	Q    string
	Sort string
	// Connection, when set, keeps the users of that connection (its
	// name) only.
	Connection string
	Page       int // from 0
	PerPage    int // 0: DefaultPerPage
}

// Query turns r into the store's query: q's value in the canonical form the
// store keeps (an address or number that has none matches no user), the
// order, and the page.
func (r ListRequest) Query() (store.UserQuery, error) {
	field, value, err := ParseQuery(r.Q)
	if err != nil {
		return store.UserQuery{}, err
	}
	by, desc, err := ParseSort(r.Sort)
	if err != nil {
		return store.UserQuery{}, err
	}
	perPage := r.PerPage
	if perPage == 0 {
		perPage = DefaultPerPage
	}
	if perPage < 0 || perPage > MaxPerPage {
		return store.UserQuery{}, invalidQuery("per_page must be between 1 and " + strconv.Itoa(MaxPerPage))
	}
	if r.Page < 0 || r.Page > (1<<31-1)/perPage {
		return store.UserQuery{}, invalidQuery("page must be 0 or more, and not beyond the last user")
	}
	q := store.UserQuery{Sort: by, Descending: desc, Offset: r.Page * perPage, Limit: perPage, Connection: r.Connection}
	switch field {
	case FieldEmail:
		q.Email = value
		if c, err := passwordless.CanonicalEmail(value); err == nil {
			q.Email = c
		}
	case FieldPhoneNumber:
		q.PhoneNumber = value
		if n, err := sms.NormalizePhone(value); err == nil {
			q.PhoneNumber = n
		}
	case FieldUserID:
		q.UserID = value
	case FieldConnection:
		if r.Connection != "" && r.Connection != value {
			return store.UserQuery{}, invalidQuery("The connection parameter and the query's identities.connection name different connections")
		}
		q.Connection = value
	}
	return q, nil
}

// List returns the page of users r asks for and how many match in all.
func (s *Service) List(ctx context.Context, r ListRequest) (store.UserPage, error) {
	q, err := r.Query()
	if err != nil {
		return store.UserPage{}, err
	}
	return s.Store.ListUsers(ctx, q)
}
