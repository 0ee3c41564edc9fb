package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// The per-recipient cap counts mailboxes, not spellings: tags and Gmail's
// dots reach one inbox, so they draw on one bucket. The identifiers stay
// apart (they are different accounts); only the cap is shared.
func TestLimits_PerRecipientCapHoldsAcrossTagsAndGmailDots(t *testing.T) {
	for _, c := range []struct {
		name     string
		first    string   // asked for five times
		variants []string // each refused after that
		other    string   // another mailbox, still served
	}{
		{"plus tags", "victim@example.com",
			[]string{"victim+1@example.com", "victim+2@example.com", "victim+@example.com", "victim+a+b@example.com"},
			"victim2@example.com"},
		{"gmail dots and googlemail", "first.last@gmail.com",
			[]string{"firstlast@gmail.com", "f.i.r.s.t.last@gmail.com", "firstlast+x@googlemail.com", "first.last@googlemail.com"},
			"first.last@example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOptions{trustedProxies: loopback, limits: realLimits(nil)})
			for i := range 5 {
				if r := e.startAs(nativeClientID, "", "email", c.first, xff(fmt.Sprint("198.51.100.", i))); r.Status != http.StatusOK {
					t.Fatalf("start %d: %d %s", i+1, r.Status, r.Body)
				}
			}
			e.SMTP.Wait(t, 5, 10*time.Second)
			for i, v := range c.variants {
				r := e.startAs(nativeClientID, "", "email", v, xff(fmt.Sprint("203.0.113.", i)))
				wantError(t, r, http.StatusTooManyRequests, "too_many_requests", descTooManyRequests)
			}
			if r := e.startAs(nativeClientID, "", "email", c.other, xff("192.0.2.1")); r.Status != http.StatusOK {
				t.Errorf("start for another mailbox: %d %s", r.Status, r.Body)
			}
			e.SMTP.Wait(t, 6, 10*time.Second)
			time.Sleep(200 * time.Millisecond) // a refused start must not deliver late either
			if n := len(e.SMTP.Messages()); n != 6 {
				t.Errorf("%d messages delivered, want 5 + 1", n)
			}
		})
	}
}
