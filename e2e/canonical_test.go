package e2e

import (
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// sentTo is a record of the starts a test made: for every message the
// SMTP sink must have received, the address the start answered.
type sentTo struct{ want []string }

// startAnswered asks for a code for raw and, when the start is accepted,
// waits for its mail and returns the answer and the code. The answered
// address is recorded as the one recipient that mail may have.
func (e *env) startAnswered(rec *sentTo, raw string) (response, string) {
	e.t.Helper()
	before := len(e.SMTP.Messages())
	res := e.postJSON("/passwordless/start", map[string]any{
		"client_id": nativeClientID, "connection": "email", "email": raw, "send": "code",
	})
	if res.Status != http.StatusOK {
		return res, ""
	}
	rec.want = append(rec.want, res.str("email"))
	msgs := e.SMTP.Wait(e.t, before+1, 10*time.Second)
	return res, codeFrom(e.t, msgs[len(msgs)-1])
}

// wantOnlyCanonicalRecipients checks the invariant: every message the sink
// received went to exactly the address its start answered (the stored
// identifier of the account the code logs into), in the envelope and in
// the To header, and no other message arrived.
func wantOnlyCanonicalRecipients(t *testing.T, e *env, rec *sentTo) {
	t.Helper()
	// A canary start: the outbox delivers in order, so once its mail is
	// in, anything queued before it would be too.
	_, _ = e.startAnswered(rec, "canary@example.com")
	msgs := e.SMTP.Messages()
	if len(msgs) != len(rec.want) {
		var got []string
		for _, m := range msgs {
			got = append(got, strings.Join(m.To, ","))
		}
		t.Errorf("the sink received %d messages %q, want %d to %q", len(msgs), got, len(rec.want), rec.want)
	}
	for i, m := range msgs {
		if i >= len(rec.want) {
			break
		}
		if len(m.To) != 1 || m.To[0] != rec.want[i] {
			t.Errorf("message %d went to %q, want exactly the answered identifier %q", i, m.To, rec.want[i])
		}
		hdr, err := mail.ParseAddress(m.Header.Get("To"))
		if err != nil || hdr.Address != rec.want[i] {
			t.Errorf("message %d has To header %q, want %q", i, m.Header.Get("To"), rec.want[i])
		}
	}
}

// A look-alike of a user's address (U+0130 in the domain, which
// strings.ToLower folds to "i"; the Kelvin sign U+212A, which it folds to
// "k") must be refused: once it was answered with the victim's identifier
// while the code went to the look-alike, a domain anyone can register,
// and the code logged into the victim's account.
func TestStart_LookAlikeAddressCannotTakeOverAnAccount(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := &sentTo{}
	cases := []struct{ victim, lookAlike string }{
		{"victim@instagram.com", "victim@\u0130nstagram.com"},
		{"kelvin@example.com", "\u212Aelvin@example.com"},
		{"ops@kiwi.com", "ops@\u212Aiwi.com"},
	}
	for _, c := range cases {
		// The victim has an account.
		res, code := e.startAnswered(rec, c.victim)
		if res.Status != http.StatusOK || res.str("email") != c.victim {
			t.Fatalf("start for %s: %d %s", c.victim, res.Status, res.Body)
		}
		tok := e.otp(nativeClientID, c.victim, code, "openid")
		if tok.Status != http.StatusOK {
			t.Fatalf("victim login: %d %s", tok.Status, tok.Body)
		}
		victimSub := jwtClaims(t, tok.str("id_token"))["sub"]

		// The attacker asks for a code for the look-alike.
		before := len(e.SMTP.Messages())
		res, code = e.startAnswered(rec, c.lookAlike)
		if res.Status != http.StatusBadRequest || res.str("error") != "bad.email" {
			t.Errorf("start for %+q: %d %s, want 400 bad.email", c.lookAlike, res.Status, res.Body)
		}
		if strings.ContainsAny(string(res.Body), "\u0130\u212A") {
			t.Errorf("the error echoes the look-alike character: %s", res.Body)
		}
		if code == "" {
			continue
		}
		// Today's bug, spelled out: the mail went to the look-alike, and its
		// code opens the victim's account.
		for _, m := range e.SMTP.Messages()[before:] {
			t.Errorf("a code for %s was mailed to %q", res.str("email"), m.To)
		}
		for _, username := range []string{c.victim, c.lookAlike} {
			if tok := e.otp(nativeClientID, username, code, "openid"); tok.Status == http.StatusOK {
				sub := jwtClaims(t, tok.str("id_token"))["sub"]
				t.Errorf("the code mailed to %+q logs in as %v (username %+q); the victim is %v", c.lookAlike, sub, username, victimSub)
			}
		}
	}
	wantOnlyCanonicalRecipients(t, e, rec)
}

// An internationalised domain is answered, stored and mailed in its
// A-label form, and its code logs in whichever spelling the user types.
func TestStart_IDNAddressIsAnsweredStoredAndMailedAsALabel(t *testing.T) {
	e := newEnv(t, envOptions{})
	rec := &sentTo{}
	const want = "user@xn--mnchen-3ya.de"
	var sub any
	for _, c := range []struct{ start, username string }{
		{"user@münchen.de", "user@münchen.de"},
		{"user@münchen.de", want},
		{want, "USER@münchen.de"},
	} {
		res, code := e.startAnswered(rec, c.start)
		if res.Status != http.StatusOK || res.str("email") != want {
			t.Fatalf("start for %q: %d %s, want email %q", c.start, res.Status, res.Body, want)
		}
		tok := e.otp(nativeClientID, c.username, code, "openid email")
		if tok.Status != http.StatusOK {
			t.Fatalf("login as %q: %d %s", c.username, tok.Status, tok.Body)
		}
		claims := jwtClaims(t, tok.str("id_token"))
		if claims["email"] != want {
			t.Errorf("stored email %v, want %q", claims["email"], want)
		}
		if sub == nil {
			sub = claims["sub"]
		} else if claims["sub"] != sub {
			t.Errorf("login as %q gave user %v, want the same user %v", c.username, claims["sub"], sub)
		}
	}
	wantOnlyCanonicalRecipients(t, e, rec)
}

// The confirmation page shows the link's address to the user, who decides
// from it whether to log in: a link whose address is not the canonical
// identifier (a right-to-left override can make one address read as
// another; upper case is never in a link Sesame made) gets the error page
// and consumes nothing.
func TestMagicLink_ConfirmationPageRefusesANonCanonicalEmail(t *testing.T) {
	e := newEnv(t, envOptions{})
	link := e.startLink(linkBody(webClientID, "rlo@example.com", map[string]any{"state": "s1"}))
	if got := link.Query().Get("email"); got != "rlo@example.com" {
		t.Fatalf("the link carries email %q", got)
	}
	b := e.browser()
	for _, email := range []string{
		"rlo@example.com\u202Emoc.elpmaxe",
		"\u202Erlo@example.com",
		"rlo\u200B@example.com",
		"RLO@example.com",
		"rlo@ex\u00E4mple.com", // canonical is its A-label
		"rlo@example.com ",
		"",
	} {
		u := *link
		q := u.Query()
		q.Set("email", email)
		u.RawQuery = q.Encode()
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			var res response
			if method == http.MethodGet {
				res = browse(t, b, method, u.String(), nil)
			} else {
				res = browse(t, b, method, e.URL+"passwordless/verify_redirect", u.Query())
			}
			wantErrorPage(t, res)
			if strings.ContainsAny(string(res.Body), "\u202E\u200B") {
				t.Errorf("%s with email %+q: the page shows an invisible character", method, email)
			}
		}
	}
	// None of this used up the real link.
	p := redirect(t, submit(t, b, openLink(t, b, e, link)), webCallback+"?", false)
	if p.Get("code") == "" || p.Get("state") != "s1" {
		t.Fatalf("callback parameters %v", p)
	}
}
