package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-id/sesame/internal/store"
)

// emailProviderSetting is the tenant_settings row holding the email provider.
const emailProviderSetting = "email_provider"

// UpdateTenant runs fn on the stored tenant inside one transaction that holds
// the schema's tenant lock, so that updates from every replica are
// serialized, and writes back the whole state: the tables are rewritten in
// the order fn leaves the objects, which is the order Tenant returns them
// in. fn must not call UpdateTenant, and may be called again when the
// connection was lost before the commit. A duplicate key in the state
// (client_id, connection id or name, resource server id or identifier,
// client grant id or client/audience pair) fails with store.ErrAlreadyExists
// and nothing is written.
func (s *Store) UpdateTenant(ctx context.Context, fn func(*store.TenantState) error) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := lock(ctx, tx, lockName("tenant")); err != nil {
			return err
		}
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
		return fmt.Errorf("postgres: update tenant: %w", err)
	}
	return nil
}

// Tenant returns the stored tenant configuration, read from one snapshot.
func (s *Store) Tenant(ctx context.Context) (store.TenantState, error) {
	var st store.TenantState
	err := s.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		st, err = loadTenant(ctx, tx)
		return err
	})
	if err != nil {
		return store.TenantState{}, fmt.Errorf("postgres: tenant: %w", err)
	}
	return st, nil
}

func loadTenant(ctx context.Context, tx pgx.Tx) (store.TenantState, error) {
	var st store.TenantState

	rows, err := tx.Query(ctx, `SELECT client_id, name, secret_hash, data, created_at, updated_at
		FROM clients ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var c store.ClientRecord
		if err := rows.Scan(&c.ClientID, &c.Name, &c.SecretHash, &c.Data, at(&c.CreatedAt), at(&c.UpdatedAt)); err != nil {
			rows.Close()
			return st, err
		}
		st.Clients = append(st.Clients, c)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	rows, err = tx.Query(ctx, `SELECT id, name, strategy, data, created_at, updated_at
		FROM connections ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var c store.ConnectionRecord
		if err := rows.Scan(&c.ID, &c.Name, &c.Strategy, &c.Data, at(&c.CreatedAt), at(&c.UpdatedAt)); err != nil {
			rows.Close()
			return st, err
		}
		st.Connections = append(st.Connections, c)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	rows, err = tx.Query(ctx, `SELECT id, identifier, data, created_at, updated_at
		FROM resource_servers ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var r store.ResourceServerRecord
		if err := rows.Scan(&r.ID, &r.Identifier, &r.Data, at(&r.CreatedAt), at(&r.UpdatedAt)); err != nil {
			rows.Close()
			return st, err
		}
		st.ResourceServers = append(st.ResourceServers, r)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	rows, err = tx.Query(ctx, `SELECT id, client_id, audience, data, created_at, updated_at
		FROM client_grants ORDER BY position`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var g store.ClientGrantRecord
		if err := rows.Scan(&g.ID, &g.ClientID, &g.Audience, &g.Data, at(&g.CreatedAt), at(&g.UpdatedAt)); err != nil {
			rows.Close()
			return st, err
		}
		st.ClientGrants = append(st.ClientGrants, g)
	}
	if err := closeRows(rows); err != nil {
		return st, err
	}

	err = tx.QueryRow(ctx, `SELECT value FROM tenant_settings WHERE name = $1`, emailProviderSetting).
		Scan(&st.EmailProvider)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return st, err
	}
	return st, nil
}

// closeRows closes rows and returns the error that ended them, if any.
func closeRows(rows pgx.Rows) error {
	rows.Close()
	return rows.Err()
}

// saveTenant replaces the stored tenant with st. The configuration is small
// and changes rarely, so rewriting it whole is simpler than diffing and
// keeps Tenant's order equal to the order of st.
func saveTenant(ctx context.Context, tx pgx.Tx, st *store.TenantState) error {
	if _, err := tx.Exec(ctx, `DELETE FROM clients; DELETE FROM connections;
		DELETE FROM resource_servers; DELETE FROM client_grants`); err != nil {
		return err
	}
	for i, c := range st.Clients {
		_, err := tx.Exec(ctx, `INSERT INTO clients
			(client_id, name, secret_hash, data, position, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ClientID, c.Name, c.SecretHash, c.Data, i, ts(c.CreatedAt), ts(c.UpdatedAt))
		if err != nil {
			return duplicate(err, "client %q", c.ClientID)
		}
	}
	for i, c := range st.Connections {
		_, err := tx.Exec(ctx, `INSERT INTO connections
			(id, name, strategy, data, position, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ID, c.Name, c.Strategy, c.Data, i, ts(c.CreatedAt), ts(c.UpdatedAt))
		if err != nil {
			return duplicate(err, "connection %q (%s)", c.Name, c.ID)
		}
	}
	for i, r := range st.ResourceServers {
		_, err := tx.Exec(ctx, `INSERT INTO resource_servers
			(id, identifier, data, position, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, r.Identifier, r.Data, i, ts(r.CreatedAt), ts(r.UpdatedAt))
		if err != nil {
			return duplicate(err, "resource server %q (%s)", r.Identifier, r.ID)
		}
	}
	for i, g := range st.ClientGrants {
		_, err := tx.Exec(ctx, `INSERT INTO client_grants
			(id, client_id, audience, data, position, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			g.ID, g.ClientID, g.Audience, g.Data, i, ts(g.CreatedAt), ts(g.UpdatedAt))
		if err != nil {
			return duplicate(err, "client grant %q (%s to %s)", g.ID, g.ClientID, g.Audience)
		}
	}
	if st.EmailProvider == nil {
		_, err := tx.Exec(ctx, `DELETE FROM tenant_settings WHERE name = $1`, emailProviderSetting)
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO tenant_settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, emailProviderSetting, st.EmailProvider)
	return err
}

// Secret returns the value stored under name, or store.ErrNotFound.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	var value []byte
	err := s.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&value)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: secret %q: %w", name, err)
	}
	return value, nil
}

// EnsureSecret stores candidate under name unless a value exists and returns
// the stored value. Of concurrent callers, the first INSERT wins; the others
// wait for it on the primary key, do nothing, and read its value.
func (s *Store) EnsureSecret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	if len(candidate) == 0 {
		return nil, fmt.Errorf("postgres: ensure secret %q: empty candidate", name)
	}
	var value []byte
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, name, candidate); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: ensure secret %q: %w", name, err)
	}
	return value, nil
}
