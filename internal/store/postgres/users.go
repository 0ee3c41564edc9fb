package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const userColumns = `user_id, connection, strategy, identifier, email, email_verified,
	phone_number, phone_verified, name, nickname, picture, given_name, family_name,
	user_metadata, app_metadata, blocked, created_at, updated_at,
	last_login, last_ip, logins_count`

// userValues is the placeholders of userColumns.
const userValues = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	err := row.Scan(&u.UserID, &u.Connection, &u.Strategy, &u.Identifier, &u.Email, &u.EmailVerified,
		&u.PhoneNumber, &u.PhoneVerified, &u.Name, &u.Nickname, &u.Picture, &u.GivenName, &u.FamilyName,
		&u.UserMetadata, &u.AppMetadata, &u.Blocked, at(&u.CreatedAt), at(&u.UpdatedAt),
		at(&u.LastLogin), &u.LastIP, &u.LoginsCount)
	return u, err
}

// userArgs is u in the order of userColumns.
func userArgs(u store.User) []any {
	return []any{u.UserID, u.Connection, u.Strategy, u.Identifier, u.Email, u.EmailVerified,
		u.PhoneNumber, u.PhoneVerified, u.Name, u.Nickname, u.Picture, u.GivenName, u.FamilyName,
		u.UserMetadata, u.AppMetadata, u.Blocked, ts(u.CreatedAt), ts(u.UpdatedAt),
		ts(u.LastLogin), u.LastIP, u.LoginsCount}
}

// LoginUser records a login of the user (u.Connection, u.Identifier).
//
// An existing user gets LastLogin and LastIP from u, LoginsCount+1, UpdatedAt
// from u (LastLogin when u.UpdatedAt is zero), and its verified flags turn true
// when u's are true (they never turn false here); its other fields are kept.
// One that store.AllowLogin refuses is returned as stored, unchanged, with
// its error. A new user (allowSignup) is stored from u with LoginsCount 1, and
// CreatedAt/UpdatedAt default to u.LastLogin when zero; a clash on u.UserID
// with another identifier fails with store.ErrAlreadyExists.
//
// Of first logins racing on several replicas, one INSERT wins; the others
// wait for it on the (connection, identifier) key, insert nothing, and
// record their login on the user it created.
func (s *Store) LoginUser(ctx context.Context, u store.User, allowSignup bool) (store.User, bool, error) {
	var (
		out     store.User
		created bool
		refused error
	)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, created, err = loginUserTx(ctx, tx, u, allowSignup)
		if refused = err; errors.Is(err, store.ErrUserBlocked) {
			return nil // nothing was written
		}
		return err
	})
	if err == nil && refused != nil {
		return out, false, fmt.Errorf("postgres: login user: %w", refused)
	}
	if err != nil {
		return store.User{}, false, fmt.Errorf("postgres: login user: %w", err)
	}
	return out, created, nil
}

// loginUserTx is LoginUser inside a transaction. It locks the user's row
// before store.AllowLogin looks at it, so that no update slips between the
// decision and the login. A user that AllowLogin refuses is returned with
// its error, and nothing is written.
func loginUserTx(ctx context.Context, tx pgx.Tx, u store.User, allowSignup bool) (store.User, bool, error) {
	updated := u.UpdatedAt
	if updated.IsZero() {
		updated = u.LastLogin
	}
	login := func() (store.User, error) {
		stored, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users
			WHERE connection = $1 AND identifier = $2 FOR UPDATE`, u.Connection, u.Identifier))
		if err != nil {
			return store.User{}, err
		}
		if err := store.AllowLogin(stored); err != nil {
			return stored, err
		}
		return scanUser(tx.QueryRow(ctx, `UPDATE users SET
				last_login = $1, last_ip = $2, logins_count = logins_count + 1, updated_at = $3,
				email_verified = email_verified OR $4, phone_verified = phone_verified OR $5
			WHERE user_id = $6
			RETURNING `+userColumns,
			ts(u.LastLogin), u.LastIP, ts(updated), u.EmailVerified, u.PhoneVerified, stored.UserID))
	}
	out, err := login()
	if !errors.Is(err, pgx.ErrNoRows) {
		return out, false, err
	}
	if !allowSignup {
		return store.User{}, false, store.ErrNotFound
	}
	n := u
	if n.CreatedAt.IsZero() {
		n.CreatedAt = u.LastLogin
	}
	n.UpdatedAt, n.LoginsCount = updated, 1
	out, err = scanUser(tx.QueryRow(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (`+userValues+`)
		ON CONFLICT (connection, identifier) DO NOTHING
		RETURNING `+userColumns, userArgs(n)...))
	switch {
	case err == nil:
		return out, true, nil
	case errors.Is(err, pgx.ErrNoRows):
		// Another login created the user since the SELECT above
		// looked; this statement sees it.
		out, err = login()
		return out, false, err
	default:
		return store.User{}, false, duplicate(err, "user %q", u.UserID)
	}
}

// User returns a user by user_id.
func (s *Store) User(ctx context.Context, userID string) (store.User, error) {
	var u store.User
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE user_id = $1`, userID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: user %q: %w", userID, err)
	}
	return u, nil
}

// UserByIdentifier returns a user by connection and normalised identifier.
func (s *Store) UserByIdentifier(ctx context.Context, connection, identifier string) (store.User, error) {
	var u store.User
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users
			WHERE connection = $1 AND identifier = $2`, connection, identifier))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: user %s/%s: %w", connection, identifier, err)
	}
	return u, nil
}

// CreateUser stores u as given; see store.Store. Of concurrent creations
// of one identifier the unique key lets one INSERT through; the others
// wait for it and fail with store.ErrAlreadyExists.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	var out store.User
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = scanUser(tx.QueryRow(ctx, `INSERT INTO users (`+userColumns+`)
			VALUES (`+userValues+`) RETURNING `+userColumns, userArgs(u)...))
		return duplicate(err, "user %q (%s %s)", u.UserID, u.Connection, u.Identifier)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: create user: %w", err)
	}
	return out, nil
}

// UpdateUser runs fn on the stored user, whose row it holds locked (FOR
// UPDATE) until it wrote back what fn leaves; see store.Store.
func (s *Store) UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (store.User, error) {
	var out store.User
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE user_id = $1 FOR UPDATE`, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		next := old
		if err := fn(&next); err != nil {
			return err
		}
		if err := store.CheckUserUpdate(old, next); err != nil {
			return err
		}
		args := userArgs(next)[3:] // from identifier on
		out, err = scanUser(tx.QueryRow(ctx, `UPDATE users SET
				identifier = $1, email = $2, email_verified = $3, phone_number = $4, phone_verified = $5,
				name = $6, nickname = $7, picture = $8, given_name = $9, family_name = $10,
				user_metadata = $11, app_metadata = $12, blocked = $13, created_at = $14, updated_at = $15,
				last_login = $16, last_ip = $17, logins_count = $18
			WHERE user_id = $19
			RETURNING `+userColumns, append(args, userID)...))
		return duplicate(err, "user %q (%s %s)", userID, next.Connection, next.Identifier)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: update user %q: %w", userID, err)
	}
	return out, nil
}

// DeleteUser deletes the user and what is kept for them, and replaces the
// live code of their identifier, in one transaction; see store.Store. It
// takes the identifier's lock (as CreateCode and GuessCode do) before the
// user's row, in the order GuessCode takes them, so that a login racing
// with the deletion either came first or finds its code replaced.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var connection, identifier string
		for {
			err := tx.QueryRow(ctx, `SELECT connection, identifier FROM users WHERE user_id = $1`,
				userID).Scan(&connection, &identifier)
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			if err := lock(ctx, tx, codeLock(connection, identifier)); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM users WHERE user_id = $1 AND identifier = $2`, userID, identifier)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				break
			}
			// Deleted, or its identifier changed, since the SELECT:
			// look again (the lock taken stays until the end, harmless).
		}
		for _, table := range []string{"refresh_tokens", "sessions", "auth_codes", "login_tickets"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE codes SET state = 'replaced'
			WHERE connection = $1 AND identifier = $2 AND state = 'live'`, connection, identifier)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete user %q: %w", userID, err)
	}
	return nil
}

// ListUsers returns a page of the users that match q and their number, from
// one snapshot; see store.Store.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery) (store.UserPage, error) {
	var (
		where []string
		args  []any
	)
	for _, f := range []struct{ column, value string }{
		{"email", q.Email}, {"phone_number", q.PhoneNumber}, {"user_id", q.UserID}, {"connection", q.Connection},
	} {
		if f.value != "" {
			args = append(args, f.value)
			where = append(where, f.column+" = $"+strconv.Itoa(len(args)))
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order := "created_at ASC, user_id ASC"
	switch {
	case q.Sort == store.SortLastLogin && q.Descending:
		order = "last_login DESC NULLS LAST, user_id DESC"
	case q.Sort == store.SortLastLogin:
		order = "last_login ASC NULLS FIRST, user_id ASC"
	case q.Descending:
		order = "created_at DESC, user_id DESC"
	}
	var page store.UserPage
	err := s.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		page = store.UserPage{Users: []store.User{}}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM users`+cond, args...).Scan(&page.Total); err != nil {
			return err
		}
		if q.Limit <= 0 || q.Offset >= page.Total {
			return nil
		}
		n := len(args)
		rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users`+cond+` ORDER BY `+order+
			` LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
			append(args, q.Limit, max(q.Offset, 0))...)
		if err != nil {
			return err
		}
		page.Users, err = scanUsers(rows)
		return err
	})
	if err != nil {
		return store.UserPage{}, fmt.Errorf("postgres: list users: %w", err)
	}
	return page, nil
}

// UsersByEmail returns the users with this email on every connection,
// oldest first.
func (s *Store) UsersByEmail(ctx context.Context, email string) ([]store.User, error) {
	var users []store.User
	err := s.query(ctx, func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1
			ORDER BY created_at, user_id`, email)
		if err != nil {
			return err
		}
		users, err = scanUsers(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: users by email: %w", err)
	}
	return users, nil
}

// scanUsers reads rows of userColumns and closes them; no rows is an empty
// slice.
func scanUsers(rows pgx.Rows) ([]store.User, error) {
	users := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		users = append(users, u)
	}
	return users, closeRows(rows)
}
