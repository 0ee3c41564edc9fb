package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sesame-id/sesame/internal/store"
)

const userColumns = `user_id, connection, strategy, identifier, email, email_verified,
	phone_number, phone_verified, name, nickname, picture, created_at, updated_at,
	last_login, last_ip, logins_count`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var created, updated, last int64
	err := row.Scan(&u.UserID, &u.Connection, &u.Strategy, &u.Identifier, &u.Email, &u.EmailVerified,
		&u.PhoneNumber, &u.PhoneVerified, &u.Name, &u.Nickname, &u.Picture, &created, &updated,
		&last, &u.LastIP, &u.LoginsCount)
	u.CreatedAt, u.UpdatedAt, u.LastLogin = fromMS(created), fromMS(updated), fromMS(last)
	return u, err
}

// LoginUser records a login of the user (u.Connection, u.Identifier).
//
// An existing user gets LastLogin and LastIP from u, LoginsCount+1, UpdatedAt
// from u (LastLogin when u.UpdatedAt is zero), and its verified flags turn true
// when u's are true (they never turn false here); its other fields are kept.
// A new user (allowSignup) is stored from u with LoginsCount 1, and
// CreatedAt/UpdatedAt default to u.LastLogin when zero; a clash on u.UserID
// with another identifier fails with store.ErrAlreadyExists.
func (s *Store) LoginUser(ctx context.Context, u store.User, allowSignup bool) (store.User, bool, error) {
	var (
		out     store.User
		created bool
	)
	err := s.write(ctx, func(tx *stmtTx) error {
		var err error
		out, created, err = loginUserTx(ctx, tx, u, allowSignup)
		return err
	})
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

// loginUserTx is LoginUser inside a transaction.
func loginUserTx(ctx context.Context, tx *stmtTx, u store.User, allowSignup bool) (out store.User, created bool, err error) {
	updated := u.UpdatedAt
	if updated.IsZero() {
		updated = u.LastLogin
	}
	out, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET
			last_login = ?, last_ip = ?, logins_count = logins_count + 1, updated_at = ?,
			email_verified = email_verified OR ?, phone_verified = phone_verified OR ?
		WHERE connection = ? AND identifier = ?
		RETURNING `+userColumns,
		ms(u.LastLogin), u.LastIP, ms(updated), u.EmailVerified, u.PhoneVerified,
		u.Connection, u.Identifier))
	if err == nil {
		return out, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.User{}, false, err
	}
	if !allowSignup {
		return store.User{}, false, store.ErrNotFound
	}
	createdAt := u.CreatedAt
	if createdAt.IsZero() {
		createdAt = u.LastLogin
	}
	out, err = scanUser(tx.QueryRowContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
		RETURNING `+userColumns,
		u.UserID, u.Connection, u.Strategy, u.Identifier, u.Email, u.EmailVerified,
		u.PhoneNumber, u.PhoneVerified, u.Name, u.Nickname, u.Picture, ms(createdAt), ms(updated),
		ms(u.LastLogin), u.LastIP))
	if err != nil {
		return store.User{}, false, duplicate(err, "user %q", u.UserID)
	}
	return out, true, nil
}
