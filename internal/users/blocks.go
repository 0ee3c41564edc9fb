package users

import (
	"context"
	"net/netip"
	"strings"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/sms"
	"github.com/sesame-id/sesame/internal/store"
)

// NormalizeIdentifier turns what an operator typed into the stored form: a
// phone number in E.164, an IP address as blocks key it (IPv6 by its /64),
// else the address's CanonicalEmail. What has no canonical form is never
// stored, so it is returned as typed and matches nothing.
func NormalizeIdentifier(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") {
		digits := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "").Replace(s)
		if n, err := sms.NormalizePhone(digits); err == nil {
			return n
		}
	}
	if _, err := netip.ParseAddr(s); err == nil {
		// Counted and blocked as the server keys it: an IPv6 address by
		// its /64.
		return ratelimit.AddrKey(s)
	}
	if email, err := passwordless.CanonicalEmail(s); err == nil {
		return email
	}
	return s
}

// BlockedFor is one entry of the blocked_for list of GET
// /api/v2/user-blocks: an identifier blocked on a connection, from one ip,
// or from every ip when IP is empty (an account lockout).
type BlockedFor struct {
	Identifier string `json:"identifier"`
	IP         string `json:"ip,omitempty"`
	Connection string `json:"connection"`
}

// Blocks is the body of GET /api/v2/user-blocks and
// /api/v2/user-blocks/{id}.
type Blocks struct {
	BlockedFor []BlockedFor `json:"blocked_for"`
}

// RenderBlocks is blocks in Auth0's shape, in their order, each
// (identifier, ip, connection) once however many blocks in force say it.
func RenderBlocks(blocks []store.Block) Blocks {
	out := Blocks{BlockedFor: []BlockedFor{}}
	seen := make(map[BlockedFor]bool, len(blocks))
	for _, b := range blocks {
		e := BlockedFor{Identifier: b.Identifier, IP: b.IP, Connection: b.Connection}
		if !seen[e] {
			seen[e] = true
			out.BlockedFor = append(out.BlockedFor, e)
		}
	}
	return out
}

func missingIdentifier() *Error {
	return &Error{Kind: fault.Invalid, Code: CodeInvalidQuery, Message: "Query validation error: 'Missing required property: identifier'"}
}

// BlocksOfIdentifier returns the blocks in force of an identifier (an
// email address or a phone number, in any form a login accepts), on every
// connection.
func (s *Service) BlocksOfIdentifier(ctx context.Context, identifier string) (Blocks, error) {
	if strings.TrimSpace(identifier) == "" {
		return Blocks{}, missingIdentifier()
	}
	bs, err := s.Store.BlocksOf(ctx, "", NormalizeIdentifier(identifier), s.Now())
	if err != nil {
		return Blocks{}, err
	}
	return RenderBlocks(bs), nil
}

// BlocksOfUser returns the blocks in force of the user with userID: those
// of their identifier on their connection. ErrUserNotFound when there is
// no such user.
func (s *Service) BlocksOfUser(ctx context.Context, userID string) (Blocks, error) {
	u, err := s.Get(ctx, userID)
	if err != nil {
		return Blocks{}, err
	}
	bs, err := s.Store.BlocksOf(ctx, u.Connection, u.Identifier, s.Now())
	if err != nil {
		return Blocks{}, err
	}
	return RenderBlocks(bs), nil
}

// Released says what an unblock lifted: the identifier in the form the
// blocks keep it (canonical), the user when the unblock named one, and how
// many blocks were in force (0 when there were none: the failures are
// forgotten all the same). The tenant log's ublkdu event is made of it.
type Released struct {
	Identifier string
	Connection string // "" for every connection
	UserID     string // "" when the unblock named an identifier
	Blocks     int
}

// UnblockIdentifier lifts every block of an identifier, on every
// connection, and forgets its failures (DELETE /api/v2/user-blocks).
func (s *Service) UnblockIdentifier(ctx context.Context, identifier string) (Released, error) {
	if strings.TrimSpace(identifier) == "" {
		return Released{}, missingIdentifier()
	}
	id := NormalizeIdentifier(identifier)
	n, err := s.Store.ClearBlocks(ctx, id)
	if err != nil {
		return Released{}, err
	}
	return Released{Identifier: id, Blocks: n}, nil
}

// UnblockUser lifts the blocks of the user with userID, those of their
// identifier on their connection, and forgets its failures there (DELETE
// /api/v2/user-blocks/{id}). It does not change the user's blocked flag,
// which an operator sets and clears with a PATCH. ErrUserNotFound when
// there is no such user.
func (s *Service) UnblockUser(ctx context.Context, userID string) (Released, error) {
	u, err := s.Get(ctx, userID)
	if err != nil {
		return Released{}, err
	}
	n, err := s.Store.ClearBlocksOf(ctx, u.Connection, u.Identifier)
	if err != nil {
		return Released{}, err
	}
	return Released{Identifier: u.Identifier, Connection: u.Connection, UserID: u.UserID, Blocks: n}, nil
}
