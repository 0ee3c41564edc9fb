package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

const userColumns = `user_id, connection, strategy, identifier, email, email_verified,
	phone_number, phone_verified, name, nickname, picture, created_at, updated_at,
	last_login, last_ip, logins_count`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	err := row.Scan(&u.UserID, &u.Connection, &u.Strategy, &u.Identifier, &u.Email, &u.EmailVerified,
		&u.PhoneNumber, &u.PhoneVerified, &u.Name, &u.Nickname, &u.Picture, at(&u.CreatedAt), at(&u.UpdatedAt),
		at(&u.LastLogin), &u.LastIP, &u.LoginsCount)
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
//
// Of first logins racing on several replicas, one INSERT wins; the others
// wait for it on the (connection, identifier) key, insert nothing, and
// record their login on the user it created.
func (s *Store) LoginUser(ctx context.Context, u store.User, allowSignup bool) (store.User, bool, error) {
	var (
		out     store.User
		created bool
	)
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, created, err = loginUserTx(ctx, tx, u, allowSignup)
		return err
	})
	if err != nil {
		return store.User{}, false, fmt.Errorf("postgres: login user: %w", err)
	}
	return out, created, nil
}

// loginUserTx is LoginUser inside a transaction.
func loginUserTx(ctx context.Context, tx pgx.Tx, u store.User, allowSignup bool) (store.User, bool, error) {
	updated := u.UpdatedAt
	if updated.IsZero() {
		updated = u.LastLogin
	}
	login := func() (store.User, error) {
		return scanUser(tx.QueryRow(ctx, `UPDATE users SET
				last_login = $1, last_ip = $2, logins_count = logins_count + 1, updated_at = $3,
				email_verified = email_verified OR $4, phone_verified = phone_verified OR $5
			WHERE connection = $6 AND identifier = $7
			RETURNING `+userColumns,
			ts(u.LastLogin), u.LastIP, ts(updated), u.EmailVerified, u.PhoneVerified,
			u.Connection, u.Identifier))
	}
	out, err := login()
	if !errors.Is(err, pgx.ErrNoRows) {
		return out, false, err
	}
	if !allowSignup {
		return store.User{}, false, store.ErrNotFound
	}
	createdAt := u.CreatedAt
	if createdAt.IsZero() {
		createdAt = u.LastLogin
	}
	out, err = scanUser(tx.QueryRow(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1)
		ON CONFLICT (connection, identifier) DO NOTHING
		RETURNING `+userColumns,
		u.UserID, u.Connection, u.Strategy, u.Identifier, u.Email, u.EmailVerified,
		u.PhoneNumber, u.PhoneVerified, u.Name, u.Nickname, u.Picture, ts(createdAt), ts(updated),
		ts(u.LastLogin), u.LastIP))
	switch {
	case err == nil:
		return out, true, nil
	case errors.Is(err, pgx.ErrNoRows):
		// Another login created the user since the UPDATE above
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
