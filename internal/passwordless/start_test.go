package passwordless

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/delivery"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/store/sqlite"
	"github.com/sesame-id/sesame/internal/tenant"
)

// recordingStore writes down every store call a start makes, with the shape
// of its arguments (never their values: those differ by design). It embeds
// a nil Store, so a call to any method it does not record panics and fails
// the test: nothing can slip past the record.
type recordingStore struct {
	store.Store // nil: unrecorded methods panic
	real        store.Store
	calls       []string
}

func (r *recordingStore) UserByIdentifier(ctx context.Context, connection, identifier string) (store.User, error) {
	u, err := r.real.UserByIdentifier(ctx, connection, identifier)
	// Not its outcome: finding the user or not is the one difference.
	r.calls = append(r.calls, "UserByIdentifier("+connection+")")
	return u, err
}

func (r *recordingStore) CreateCode(ctx context.Context, code store.Code, msg *store.OutboxMessage, event *store.Event, takes ...store.Take) ([]store.Bucket, error) {
	bs, err := r.real.CreateCode(ctx, code, msg, event, takes...)
	shape := "msg=nil"
	if msg != nil {
		// The payload's length is the rendered and sealed message's: the
		// same work gives the same length (the codes have one length).
		shape = fmt.Sprintf("msg{status=%s payload=%d recipient=%t notAfter=%t}",
			msg.Status, len(msg.Payload), msg.Recipient == code.Identifier, msg.NotAfter.Equal(code.ExpiresAt))
	}
	// One log line either way (cs, or fs for a stranger): the same row.
	r.calls = append(r.calls, fmt.Sprintf("CreateCode(code{send=%s hmac=%d params=%d} %s event=%t takes=%d) -> buckets=%d err=%v",
		code.Send, len(code.CodeHMAC), len(code.AuthParams), shape, event != nil, len(takes), len(bs), err))
	return bs, err
}

func (r *recordingStore) TakeTokens(ctx context.Context, takes []store.Take, now time.Time) ([]store.Bucket, error) {
	bs, err := r.real.TakeTokens(ctx, takes, now)
	r.calls = append(r.calls, fmt.Sprintf("TakeTokens(%d) -> %d err=%v", len(takes), len(bs), err))
	return bs, err
}

func (r *recordingStore) LoginUser(ctx context.Context, u store.User, allowSignup bool) (store.User, bool, error) {
	return r.real.LoginUser(ctx, u, allowSignup)
}

// TestStart_DisableSignupDoesTheSameWorkForMembersAndStrangers protects the
// answer's timing structurally: with disable_signup, a start for an address
// that is a user's and one for an address that is nobody's make the same
// store calls with arguments of the same shape, in code and in link mode,
// and queue one outbox row each; only the stranger's is a suppressed one.
func TestStart_DisableSignupDoesTheSameWorkForMembersAndStrangers(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sesame.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f, _, err := tenant.ParseFile("tenant.yaml", []byte(`
clients:
  - name: App
    client_id: app
    app_type: regular_web
    callbacks: [https://app.example.com/callback]
connections:
  - name: closed
    strategy: email
    enabled_clients: [App]
    options: {disable_signup: true}
`), "", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tn := f.Tenant()
	client, conn := tn.Client("app"), tn.Connection("closed")
	sealer, err := delivery.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rec := &recordingStore{real: st}
	svc := &Service{Issuer: "https://id.example.com/", Store: rec, HMACKey: make([]byte, 32), Sealer: sealer,
		Now: func() time.Time { return now }}
	if _, _, err := rec.LoginUser(ctx, store.User{UserID: "email|member", Connection: "closed", Strategy: "email",
		Identifier: "member@example.com", Email: "member@example.com", CreatedAt: now, UpdatedAt: now}, true); err != nil {
		t.Fatal(err)
	}

	for _, send := range []string{"code", "link"} {
		start := func(email string) []string {
			t.Helper()
			rec.calls = nil
			req := StartRequest{Client: client, Connection: conn, Email: email, Send: send,
				Takes: []store.Take{{Key: "start:ip:192.0.2.1", Limit: store.Limit{Burst: 1000, Per: time.Hour}},
					{Key: "start:rcpt:closed:" + email, Limit: store.Limit{Burst: 5, Per: time.Hour}}}}
			if send == "link" {
				req.LinkParams = url.Values{"client_id": {"app"}, "connection": {"closed"}, "email": {email},
					"redirect_uri": {"https://app.example.com/callback"}, "response_type": {"code"}}
			}
			if _, err := svc.Start(ctx, req); err != nil {
				t.Fatalf("start %s for %s: %v", send, email, err)
			}
			return slices.Clone(rec.calls)
		}
		// Same length, so that the rendered messages are the same size.
		member, stranger := start("member@example.com"), start("nobody@example.com")
		if !slices.Equal(member, stranger) {
			t.Errorf("send=%s: a member's start and a stranger's differ:\nmember:   %s\nstranger: %s",
				send, strings.Join(member, "\n          "), strings.Join(stranger, "\n          "))
		}
		if len(member) == 0 || !strings.Contains(member[len(member)-1], "msg{") {
			t.Errorf("send=%s: no message was queued: %v", send, member)
		}
	}

	// The member's message is an email, the stranger's a suppressed one.
	res, err := svc.Start(ctx, StartRequest{Client: client, Connection: conn, Email: "nobody@example.com", Send: "code"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.OutboxMessage(ctx, res.ID)
	if err != nil || m.Kind != "suppressed" || m.Status != store.OutboxPending {
		t.Fatalf("stranger's outbox row = %+v, %v; want a pending %s row", m, err, "suppressed")
	}
	res, err = svc.Start(ctx, StartRequest{Client: client, Connection: conn, Email: "member@example.com", Send: "code"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.OutboxMessage(ctx, res.ID); err != nil || m.Kind != delivery.KindEmail {
		t.Fatalf("member's outbox row = %+v, %v; want an email", m, err)
	}
}
