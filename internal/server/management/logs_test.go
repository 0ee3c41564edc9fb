package management

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

func TestLogBody(t *testing.T) {
	tn := &tenant.Tenant{Connections: []*tenant.Connection{{Name: "email", Strategy: "email"}}}
	at := time.Date(2024, 1, 31, 10, 0, 0, 7_000_000, time.FixedZone("x", 3600))
	e := store.Event{ID: "900123", Type: "s", ClientID: "c1", ClientName: "Web", Connection: "email", UserID: "email|ab",
		Identifier: "a@example.com", IP: "203.0.113.9", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
		Details: []byte(`{"grant_type":"x"}`), CreatedAt: at}
	got, _ := json.Marshal(logBody(e, tn))
	want := `{"_id":"900123","client_id":"c1","client_name":"Web","connection":"email","date":"2024-01-31T09:00:00.007Z",` +
		`"details":{"grant_type":"x"},"ip":"203.0.113.9","isMobile":true,"log_id":"900123","strategy":"email",` +
		`"strategy_type":"passwordless","type":"s","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",` +
		`"user_id":"email|ab","user_name":"a@example.com"}`
	if string(got) != want {
		t.Errorf("logBody =\n%s\nwant\n%s", got, want)
	}

	// What the event does not know is left out; a connection the tenant
	// no longer has gives no strategy.
	bare := store.Event{ID: "900124", Type: "sapi", Connection: "gone", Details: []byte(`{"audience":"https://api/"}`), CreatedAt: at}
	got, _ = json.Marshal(logBody(bare, tn))
	want = `{"_id":"900124","audience":"https://api/","connection":"gone","date":"2024-01-31T09:00:00.007Z",` +
		`"details":{"audience":"https://api/"},"log_id":"900124","type":"sapi"}`
	if string(got) != want {
		t.Errorf("logBody =\n%s\nwant\n%s", got, want)
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"aé", 2, "a"}, {"a\xffb", 5, "a\uFFFDb"},
	} {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
