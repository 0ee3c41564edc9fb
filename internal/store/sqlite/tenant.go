package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sesame-id/sesame/internal/store"
)

// emailProviderSetting is the tenant_settings row holding the email provider.
const emailProviderSetting = "email_provider"

// UpdateTenant runs fn on the stored tenant inside one immediate transaction
// and writes back the whole state: the tables are rewritten in the order fn
// leaves the objects, which is the order Tenant returns them in. fn must not
// call UpdateTenant (the writer connection is held). A duplicate key in the
// state (client_id, connection id or name, resource server id or identifier,
// client grant id or client/audience pair) fails with store.ErrAlreadyExists
// and nothing is written.
func (s *Store) UpdateTenant(ctx context.Context, fn func(*store.TenantState) error) error {
	err := s.write(ctx, func(tx *stmtTx) error {
		st, err := loadTenant(ctx, tx)
		if err != nil {
			return err
		}
		if err := fn(&st); err != nil {
			return err
		}
		return saveTenant(ctx, tx, &st)
	})
	if err != nil {
		return fmt.Errorf("sqlite: update tenant: %w", err)
	}
	return nil
}

// Tenant returns the stored tenant configuration.
func (s *Store) Tenant(ctx context.Context) (store.TenantState, error) {
	var st store.TenantState
	err := s.read(ctx, func(tx *stmtTx) error {
		var err error
		st, err = loadTenant(ctx, tx)
		return err
	})
	if err != nil {
		return store.TenantState{}, fmt.Errorf("sqlite: tenant: %w", err)
	}
	return st, nil
}

func loadTenant(ctx context.Context, tx *stmtTx) (store.TenantState, error) {
	var st store.TenantState

	rows, err := tx.QueryContext(ctx, `SELECT client_id, name, secret_hash, data, created_at, updated_at
		FROM clients ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var c store.ClientRecord
		var created, updated int64
		if err := rows.Scan(&c.ClientID, &c.Name, &c.SecretHash, &c.Data, &created, &updated); err != nil {
			rows.Close()
			return st, err
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		st.Clients = append(st.Clients, c)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT id, name, strategy, data, created_at, updated_at
		FROM connections ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var c store.ConnectionRecord
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Strategy, &c.Data, &created, &updated); err != nil {
			rows.Close()
			return st, err
		}
		c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
		st.Connections = append(st.Connections, c)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT id, identifier, data, created_at, updated_at
		FROM resource_servers ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var r store.ResourceServerRecord
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.Identifier, &r.Data, &created, &updated); err != nil {
			rows.Close()
			return st, err
		}
		r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
		st.ResourceServers = append(st.ResourceServers, r)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	rows, err = tx.QueryContext(ctx, `SELECT id, client_id, audience, data, created_at, updated_at
		FROM client_grants ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var g store.ClientGrantRecord
		var created, updated int64
		if err := rows.Scan(&g.ID, &g.ClientID, &g.Audience, &g.Data, &created, &updated); err != nil {
			rows.Close()
			return st, err
		}
		g.CreatedAt, g.UpdatedAt = fromMS(created), fromMS(updated)
		st.ClientGrants = append(st.ClientGrants, g)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	err = tx.QueryRowContext(ctx, `SELECT value FROM tenant_settings WHERE name = ?`, emailProviderSetting).
		Scan(&st.EmailProvider)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, err
	}
	return st, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// saveTenant replaces the stored tenant with st. The configuration is small
// and changes rarely, so rewriting it whole is simpler than diffing and
// keeps Tenant's order equal to the order of st.
func saveTenant(ctx context.Context, tx *stmtTx, st *store.TenantState) error {
	for _, table := range []string{"clients", "connections", "resource_servers", "client_grants"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return err
		}
	}
	for i, c := range st.Clients {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients
			(client_id, name, secret_hash, data, position, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ClientID, c.Name, nullBytes(c.SecretHash), nullBytes(c.Data), i, ms(c.CreatedAt), ms(c.UpdatedAt))
		if err != nil {
			return duplicate(err, "client %q", c.ClientID)
		}
	}
	for i, c := range st.Connections {
		_, err := tx.ExecContext(ctx, `INSERT INTO connections
			(id, name, strategy, data, position, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.Strategy, nullBytes(c.Data), i, ms(c.CreatedAt), ms(c.UpdatedAt))
		if err != nil {
			return duplicate(err, "connection %q (%s)", c.Name, c.ID)
		}
	}
	for i, r := range st.ResourceServers {
		_, err := tx.ExecContext(ctx, `INSERT INTO resource_servers
			(id, identifier, data, position, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID, r.Identifier, nullBytes(r.Data), i, ms(r.CreatedAt), ms(r.UpdatedAt))
		if err != nil {
			return duplicate(err, "resource server %q (%s)", r.Identifier, r.ID)
		}
	}
	for i, g := range st.ClientGrants {
		_, err := tx.ExecContext(ctx, `INSERT INTO client_grants
			(id, client_id, audience, data, position, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.ClientID, g.Audience, nullBytes(g.Data), i, ms(g.CreatedAt), ms(g.UpdatedAt))
		if err != nil {
			return duplicate(err, "client grant %q (%s to %s)", g.ID, g.ClientID, g.Audience)
		}
	}
	if st.EmailProvider == nil {
		_, err := tx.ExecContext(ctx, `DELETE FROM tenant_settings WHERE name = ?`, emailProviderSetting)
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO tenant_settings (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, emailProviderSetting, st.EmailProvider)
	return err
}

// duplicate turns a uniqueness violation into store.ErrAlreadyExists.
func duplicate(err error, format string, args ...any) error {
	if isConstraint(err) {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrAlreadyExists)
	}
	return err
}

// Secret returns the value stored under name, or store.ErrNotFound.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	var value []byte
	err := s.read(ctx, func(tx *stmtTx) error {
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret %q: %w", name, err)
	}
	return value, nil
}

// EnsureSecret stores candidate under name unless a value exists and returns
// the stored value.
func (s *Store) EnsureSecret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if len(candidate) == 0 {
		return nil, fmt.Errorf("sqlite: ensure secret %q: empty candidate", name)
	}
	var value []byte
	err := s.write(ctx, func(tx *stmtTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`, name, candidate); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: ensure secret %q: %w", name, err)
	}
	return value, nil
}
