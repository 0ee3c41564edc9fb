package metrics

import (
	"context"
	"time"

	"github.com/sesame-id/sesame/internal/store"
)

// TimeStore returns st with the latency of every call observed in
// sesame_store_call_duration_seconds by method: the database's latency as
// the rest of Sesame feels it, on either backend. Migrate and Close pass
// through untimed, and so does any method added to store.Store later until
// it is listed here (the embedded Store answers it).
func (m *Metrics) TimeStore(st store.Store) store.Store {
	if m == nil {
		return st
	}
	return timedStore{Store: st, m: m}
}

type timedStore struct {
	store.Store
	m *Metrics
}

func (ts timedStore) observe(method string, began time.Time) {
	ts.m.storeCalls.WithLabelValues(method).Observe(time.Since(began).Seconds())
}

func (ts timedStore) Ready(ctx context.Context) error {
	defer ts.observe("Ready", time.Now())
	return ts.Store.Ready(ctx)
}

func (ts timedStore) UpdateTenant(ctx context.Context, fn func(*store.TenantState) error) error {
	defer ts.observe("UpdateTenant", time.Now())
	return ts.Store.UpdateTenant(ctx, fn)
}

func (ts timedStore) Tenant(ctx context.Context) (store.TenantState, error) {
	defer ts.observe("Tenant", time.Now())
	return ts.Store.Tenant(ctx)
}

func (ts timedStore) EnsureSecret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	defer ts.observe("EnsureSecret", time.Now())
	return ts.Store.EnsureSecret(ctx, name, candidate)
}

func (ts timedStore) EnsureSigningKey(ctx context.Context, candidate store.SigningKey) (store.SigningKey, error) {
	defer ts.observe("EnsureSigningKey", time.Now())
	return ts.Store.EnsureSigningKey(ctx, candidate)
}

func (ts timedStore) RotateSigningKey(ctx context.Context, next store.SigningKey, replaces string, publishUntil time.Time) (store.SigningKey, error) {
	defer ts.observe("RotateSigningKey", time.Now())
	return ts.Store.RotateSigningKey(ctx, next, replaces, publishUntil)
}

func (ts timedStore) SigningKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	defer ts.observe("SigningKeys", time.Now())
	return ts.Store.SigningKeys(ctx, now)
}

func (ts timedStore) CreateCode(ctx context.Context, code store.Code, msg *store.OutboxMessage, event *store.Event, takes ...store.Take) ([]store.Bucket, error) {
	defer ts.observe("CreateCode", time.Now())
	return ts.Store.CreateCode(ctx, code, msg, event, takes...)
}

func (ts timedStore) GuessCode(ctx context.Context, connection, identifier string, codeHMACs [][]byte, now time.Time, consume bool, g store.Guard) (store.Guessed, error) {
	defer ts.observe("GuessCode", time.Now())
	return ts.Store.GuessCode(ctx, connection, identifier, codeHMACs, now, consume, g)
}

func (ts timedStore) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	defer ts.observe("ClaimOutbox", time.Now())
	return ts.Store.ClaimOutbox(ctx, now, lease, limit)
}

func (ts timedStore) CompleteOutbox(ctx context.Context, id string, now time.Time) error {
	defer ts.observe("CompleteOutbox", time.Now())
	return ts.Store.CompleteOutbox(ctx, id, now)
}

func (ts timedStore) CompleteOutboxMany(ctx context.Context, ids []string, now time.Time) error {
	defer ts.observe("CompleteOutboxMany", time.Now())
	return ts.Store.CompleteOutboxMany(ctx, ids, now)
}

func (ts timedStore) RetryOutbox(ctx context.Context, id string, lastErr string, next time.Time, giveUp bool) error {
	defer ts.observe("RetryOutbox", time.Now())
	return ts.Store.RetryOutbox(ctx, id, lastErr, next, giveUp)
}

func (ts timedStore) OutboxMessage(ctx context.Context, id string) (store.OutboxMessage, error) {
	defer ts.observe("OutboxMessage", time.Now())
	return ts.Store.OutboxMessage(ctx, id)
}

func (ts timedStore) OutboxBacklog(ctx context.Context) (int, time.Time, error) {
	defer ts.observe("OutboxBacklog", time.Now())
	return ts.Store.OutboxBacklog(ctx)
}

func (ts timedStore) LoginUser(ctx context.Context, u store.User, allowSignup bool) (store.User, bool, error) {
	defer ts.observe("LoginUser", time.Now())
	return ts.Store.LoginUser(ctx, u, allowSignup)
}

func (ts timedStore) User(ctx context.Context, userID string) (store.User, error) {
	defer ts.observe("User", time.Now())
	return ts.Store.User(ctx, userID)
}

func (ts timedStore) UserByIdentifier(ctx context.Context, connection, identifier string) (store.User, error) {
	defer ts.observe("UserByIdentifier", time.Now())
	return ts.Store.UserByIdentifier(ctx, connection, identifier)
}

func (ts timedStore) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	defer ts.observe("CreateUser", time.Now())
	return ts.Store.CreateUser(ctx, u)
}

func (ts timedStore) UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (store.User, error) {
	defer ts.observe("UpdateUser", time.Now())
	return ts.Store.UpdateUser(ctx, userID, fn)
}

func (ts timedStore) DeleteUser(ctx context.Context, userID string) error {
	defer ts.observe("DeleteUser", time.Now())
	return ts.Store.DeleteUser(ctx, userID)
}

func (ts timedStore) ListUsers(ctx context.Context, q store.UserQuery) (store.UserPage, error) {
	defer ts.observe("ListUsers", time.Now())
	return ts.Store.ListUsers(ctx, q)
}

func (ts timedStore) UsersByEmail(ctx context.Context, email string) ([]store.User, error) {
	defer ts.observe("UsersByEmail", time.Now())
	return ts.Store.UsersByEmail(ctx, email)
}

func (ts timedStore) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	defer ts.observe("CreateRefreshToken", time.Now())
	return ts.Store.CreateRefreshToken(ctx, t)
}

func (ts timedStore) UseRefreshToken(ctx context.Context, hash []byte, now time.Time, rotate bool, leeway time.Duration, next *store.RefreshToken) (store.RefreshToken, error) {
	defer ts.observe("UseRefreshToken", time.Now())
	return ts.Store.UseRefreshToken(ctx, hash, now, rotate, leeway, next)
}

func (ts timedStore) RefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	defer ts.observe("RefreshToken", time.Now())
	return ts.Store.RefreshToken(ctx, hash)
}

func (ts timedStore) RevokeRefreshToken(ctx context.Context, hash []byte, clientID string, now time.Time) error {
	defer ts.observe("RevokeRefreshToken", time.Now())
	return ts.Store.RevokeRefreshToken(ctx, hash, clientID, now)
}

func (ts timedStore) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	defer ts.observe("RevokeRefreshFamily", time.Now())
	return ts.Store.RevokeRefreshFamily(ctx, familyID, now)
}

func (ts timedStore) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	defer ts.observe("CreateAuthCode", time.Now())
	return ts.Store.CreateAuthCode(ctx, c)
}

func (ts timedStore) RedeemAuthCode(ctx context.Context, hash []byte, now time.Time) (store.AuthCode, error) {
	defer ts.observe("RedeemAuthCode", time.Now())
	return ts.Store.RedeemAuthCode(ctx, hash, now)
}

func (ts timedStore) CreateLoginTicket(ctx context.Context, t store.LoginTicket) error {
	defer ts.observe("CreateLoginTicket", time.Now())
	return ts.Store.CreateLoginTicket(ctx, t)
}

func (ts timedStore) RedeemLoginTicket(ctx context.Context, hash []byte, now time.Time) (store.LoginTicket, error) {
	defer ts.observe("RedeemLoginTicket", time.Now())
	return ts.Store.RedeemLoginTicket(ctx, hash, now)
}

func (ts timedStore) CreateSession(ctx context.Context, s store.Session) error {
	defer ts.observe("CreateSession", time.Now())
	return ts.Store.CreateSession(ctx, s)
}

func (ts timedStore) Session(ctx context.Context, hash []byte, now time.Time) (store.Session, error) {
	defer ts.observe("Session", time.Now())
	return ts.Store.Session(ctx, hash, now)
}

func (ts timedStore) DeleteSession(ctx context.Context, hash []byte) error {
	defer ts.observe("DeleteSession", time.Now())
	return ts.Store.DeleteSession(ctx, hash)
}

func (ts timedStore) TakeTokens(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error) {
	defer ts.observe("TakeTokens", time.Now())
	return ts.Store.TakeTokens(ctx, takes, now)
}

func (ts timedStore) Blocks(ctx context.Context, now time.Time) ([]store.Block, error) {
	defer ts.observe("Blocks", time.Now())
	return ts.Store.Blocks(ctx, now)
}

func (ts timedStore) BlocksOf(ctx context.Context, connection, identifier string, now time.Time) ([]store.Block, error) {
	defer ts.observe("BlocksOf", time.Now())
	return ts.Store.BlocksOf(ctx, connection, identifier, now)
}

func (ts timedStore) ClearBlocks(ctx context.Context, identifier string) (int, error) {
	defer ts.observe("ClearBlocks", time.Now())
	return ts.Store.ClearBlocks(ctx, identifier)
}

func (ts timedStore) ClearBlocksOf(ctx context.Context, connection, identifier string) (int, error) {
	defer ts.observe("ClearBlocksOf", time.Now())
	return ts.Store.ClearBlocksOf(ctx, connection, identifier)
}

func (ts timedStore) AddEvents(ctx context.Context, events ...store.Event) error {
	defer ts.observe("AddEvents", time.Now())
	return ts.Store.AddEvents(ctx, events...)
}

func (ts timedStore) Events(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	defer ts.observe("Events", time.Now())
	return ts.Store.Events(ctx, q)
}

func (ts timedStore) Event(ctx context.Context, id string) (store.Event, error) {
	defer ts.observe("Event", time.Now())
	return ts.Store.Event(ctx, id)
}

func (ts timedStore) PurgeExpired(ctx context.Context, now time.Time, eventRetention time.Duration) error {
	defer ts.observe("PurgeExpired", time.Now())
	return ts.Store.PurgeExpired(ctx, now, eventRetention)
}
