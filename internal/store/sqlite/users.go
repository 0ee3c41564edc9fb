package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sesame-id/sesame/internal/store"
)

const userColumns = `user_id, connection, strategy, identifier, email, email_verified,
	phone_number, phone_verified, name, nickname, picture, given_name, family_name,
	user_metadata, app_metadata, blocked, created_at, updated_at,
	last_login, last_ip, logins_count`

// userValues is the placeholders of userColumns.
const userValues = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var created, updated, last int64
	err := row.Scan(&u.UserID, &u.Connection, &u.Strategy, &u.Identifier, &u.Email, &u.EmailVerified,
		&u.PhoneNumber, &u.PhoneVerified, &u.Name, &u.Nickname, &u.Picture, &u.GivenName, &u.FamilyName,
		&u.UserMetadata, &u.AppMetadata, &u.Blocked, &created, &updated,
		&last, &u.LastIP, &u.LoginsCount)
	u.CreatedAt, u.UpdatedAt, u.LastLogin = fromMS(created), fromMS(updated), fromMS(last)
	return u, err
}

// userArgs is u in the order of userColumns.
func userArgs(u store.User) []any {
	return []any{u.UserID, u.Connection, u.Strategy, u.Identifier, u.Email, u.EmailVerified,
		u.PhoneNumber, u.PhoneVerified, u.Name, u.Nickname, u.Picture, u.GivenName, u.FamilyName,
		nullBytes(u.UserMetadata), nullBytes(u.AppMetadata), u.Blocked, ms(u.CreatedAt), ms(u.UpdatedAt),
		ms(u.LastLogin), u.LastIP, u.LoginsCount}
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
func (s *Store) LoginUser(ctx context.Context, u store.User, allowSignup bool) (store.User, bool, error) {
	var (
		out     store.User
		created bool
		refused error
	)
	err := s.write(ctx, func(tx *stmtTx) error {
		var err error
		out, created, err = loginUserTx(ctx, tx, u, allowSignup)
		if refused = err; errors.Is(err, store.ErrUserBlocked) {
			return nil // nothing was written
		}
		return err
	})
	if err == nil && refused != nil {
		return out, false, fmt.Errorf("sqlite: login user: %w", refused)
	}
	if err != nil {
		return store.User{}, false, fmt.Errorf("sqlite: login user: %w", err)
	}
	return out, created, nil
}

// User returns a user by user_id.
func (s *Store) User(ctx context.Context, userID string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE user_id = ?`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: user %q: %w", userID, err)
	}
	return u, nil
}

// UserByIdentifier returns a user by connection and normalised identifier.
func (s *Store) UserByIdentifier(ctx context.Context, connection, identifier string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE connection = ? AND identifier = ?`, connection, identifier))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: user %s/%s: %w", connection, identifier, err)
	}
	return u, nil
}

// loginUserTx is LoginUser inside a transaction. A user that
// store.AllowLogin refuses is returned with its error, and nothing is
// written.
func loginUserTx(ctx context.Context, tx *stmtTx, u store.User, allowSignup bool) (out store.User, created bool, err error) {
	updated := u.UpdatedAt
	if updated.IsZero() {
		updated = u.LastLogin
	}
	stored, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE connection = ? AND identifier = ?`, u.Connection, u.Identifier))
	switch {
	case err == nil:
		if err := store.AllowLogin(stored); err != nil {
			return stored, false, err
		}
		out, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET
				last_login = ?, last_ip = ?, logins_count = logins_count + 1, updated_at = ?,
				email_verified = email_verified OR ?, phone_verified = phone_verified OR ?
			WHERE user_id = ?
			RETURNING `+userColumns,
			ms(u.LastLogin), u.LastIP, ms(updated), u.EmailVerified, u.PhoneVerified, stored.UserID))
		return out, false, err
	case !errors.Is(err, sql.ErrNoRows):
		return store.User{}, false, err
	case !allowSignup:
		return store.User{}, false, store.ErrNotFound
	}
	n := u
	if n.CreatedAt.IsZero() {
		n.CreatedAt = u.LastLogin
	}
	n.UpdatedAt, n.LoginsCount = updated, 1
	out, err = scanUser(tx.QueryRowContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (`+userValues+`) RETURNING `+userColumns, userArgs(n)...))
	if err != nil {
		return store.User{}, false, duplicate(err, "user %q", u.UserID)
	}
	return out, true, nil
}

// CreateUser stores u as given; see store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	var out store.User
	err := s.write(ctx, func(tx *stmtTx) error {
		var err error
		out, err = scanUser(tx.QueryRowContext(ctx, `INSERT INTO users (`+userColumns+`)
			VALUES (`+userValues+`) RETURNING `+userColumns, userArgs(u)...))
		return duplicate(err, "user %q (%s %s)", u.UserID, u.Connection, u.Identifier)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: create user: %w", err)
	}
	return out, nil
}

// UpdateUser runs fn on the stored user and writes back what it leaves, in
// one transaction of the single writer; see store.Store.
func (s *Store) UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (store.User, error) {
	var out store.User
	err := s.write(ctx, func(tx *stmtTx) error {
		old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE user_id = ?`, userID))
		if errors.Is(err, sql.ErrNoRows) {
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
		out, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET
				identifier = ?, email = ?, email_verified = ?, phone_number = ?, phone_verified = ?,
				name = ?, nickname = ?, picture = ?, given_name = ?, family_name = ?,
				user_metadata = ?, app_metadata = ?, blocked = ?, created_at = ?, updated_at = ?,
				last_login = ?, last_ip = ?, logins_count = ?
			WHERE user_id = ?
			RETURNING `+userColumns, append(args, userID)...))
		return duplicate(err, "user %q (%s %s)", userID, next.Connection, next.Identifier)
	})
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: update user %q: %w", userID, err)
	}
	return out, nil
}

// DeleteUser deletes the user and what is kept for them, and replaces the
// live code of their identifier, in one transaction; see store.Store.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		var connection, identifier string
		err := tx.QueryRowContext(ctx, `DELETE FROM users WHERE user_id = ? RETURNING connection, identifier`,
			userID).Scan(&connection, &identifier)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		for _, table := range []string{"refresh_tokens", "sessions", "auth_codes", "login_tickets"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = ?`, userID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE codes SET state = 'replaced'
			WHERE connection = ? AND identifier = ? AND state = 'live'`, connection, identifier)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete user %q: %w", userID, err)
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
			where = append(where, f.column+" = ?")
			args = append(args, f.value)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	column := "created_at"
	if q.Sort == store.SortLastLogin {
		column = "last_login" // 0 (never) sorts first, as NULLS FIRST does in PostgreSQL
	}
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	var page store.UserPage
	err := s.read(ctx, func(tx *stmtTx) error {
		page = store.UserPage{Users: []store.User{}}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`+cond, args...).Scan(&page.Total); err != nil {
			return err
		}
		if q.Limit <= 0 || q.Offset >= page.Total {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users`+cond+
			` ORDER BY `+column+dir+`, user_id`+dir+` LIMIT ? OFFSET ?`,
			append(args, q.Limit, max(q.Offset, 0))...)
		if err != nil {
			return err
		}
		page.Users, err = scanUsers(rows)
		return err
	})
	if err != nil {
		return store.UserPage{}, fmt.Errorf("sqlite: list users: %w", err)
	}
	return page, nil
}

// UsersByEmail returns the users with this email on every connection,
// oldest first.
func (s *Store) UsersByEmail(ctx context.Context, email string) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?
		ORDER BY created_at, user_id`, email)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users by email: %w", err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users by email: %w", err)
	}
	return users, nil
}

// scanUsers reads rows of userColumns and closes them; no rows is an empty
// slice.
func scanUsers(rows *sql.Rows) ([]store.User, error) {
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
