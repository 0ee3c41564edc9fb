package e2e

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// send link_ios and link_android: app links that open the client's native
// app, and the documents that let the phone open them there.

var appLinkRE = regexp.MustCompile(`https?://[^\s<>"]*/(ios|android)/[^\s<>"]*`)

// appLinkFrom finds the app link in a mail's text part and checks that the
// HTML part links to the same.
func appLinkFrom(t *testing.T, text, htmlPart string) *url.URL {
	t.Helper()
	raw := appLinkRE.FindString(text)
	if raw == "" {
		t.Fatalf("no app link in the mail text: %q", text)
	}
	if !strings.Contains(htmlPart, `href="`+strings.ReplaceAll(raw, "&", "&amp;")+`"`) {
		t.Errorf("the HTML part does not link to %s", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAppLinks_IOSAndAndroidLinksOpenTheAppWhichLogsInWithTheCode: send
// link_ios gives an iOS universal link and link_android an Android app
// link, each under the app's identifier as Auth0's native SDKs expect
// (Lock.swift, Lock.Android), carrying the code as code=…; the app logs in
// by presenting it with the passwordless OTP grant. Neither is a
// verify_redirect link.
func TestAppLinks_IOSAndAndroidLinksOpenTheAppWhichLogsInWithTheCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	for i, c := range []struct{ send, path string }{
		{"link_ios", "ios/" + nativeAppID + "/email"},
		{"link_android", "android/" + nativeAppID + "/email"},
	} {
		t.Run(c.send, func(t *testing.T) {
			email := c.send + "@example.com"
			res := e.postJSON("/passwordless/start", map[string]any{
				"client_id": nativeClientID, "connection": "email", "email": email, "send": c.send,
			})
			if res.Status != 200 {
				t.Fatalf("start: %d %s", res.Status, res.Body)
			}
			m := e.SMTP.Wait(t, i+1, 10*time.Second)[i]
			if strings.Contains(m.Text+m.HTML, "verify_redirect") {
				t.Errorf("an app link mail points at verify_redirect:\n%s", m.Text)
			}
			link := appLinkFrom(t, m.Text, m.HTML)
			if link.Scheme+"://"+link.Host+link.Path != e.URL+c.path {
				t.Errorf("link %s, want %s%s?code=…", link, e.URL, c.path)
			}
			q := link.Query()
			code := q.Get("code")
			if len(q) != 1 || !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
				t.Fatalf("link query %v, want only a six-digit code", q)
			}
			tok := e.otp(nativeClientID, email, code, "openid email")
			if tok.Status != 200 || tok.str("id_token") == "" {
				t.Fatalf("the app's OTP grant with the link's code: %d %s", tok.Status, tok.Body)
			}
			if claims := jwtClaims(t, tok.str("id_token")); claims["email"] != email {
				t.Errorf("ID token for %v, want %s", claims["email"], email)
			}
			// The code is spent.
			wantError(t, e.otp(nativeClientID, email, code, "openid"), 403, "invalid_grant", descWrongEmail)
			// An app link is not a verify_redirect link: its code cannot
			// be carried there as one, and nothing is left to carry.
			if r := e.get(c.path + "?code=" + code); r.Status != 404 {
				t.Errorf("GET of the app link on the server: %d, want 404 (it is the app's to open)", r.Status)
			}
		})
	}
}

// TestAppLinks_ClientWithoutTheAppIsRefused: Auth0 answers 400
// missing_property when the client has no bundle identifier (package name)
// to build the link with; nothing is sent.
func TestAppLinks_ClientWithoutTheAppIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	for send, desc := range map[string]string{
		"link_ios":     "Missing client.mobile.ios.app_bundle_identifier is required.",
		"link_android": "Missing client.mobile.android.app_package_name is required.",
	} {
		body := linkBody(webClientID, "no-app@example.com", nil)
		body["send"] = send
		wantError(t, e.postJSON("/passwordless/start", body), 400, "missing_property", desc)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.SMTP.Messages()); n != 0 {
		t.Errorf("%d messages sent for refused starts", n)
	}
}

// TestAppLinks_AssociationFilesNameTheApps: the phone only opens an app
// link in the app when the link's host says the app may: iOS reads
// /apple-app-site-association, Android /.well-known/assetlinks.json. Both
// list the Native App as its mobile settings say, and only it.
func TestAppLinks_AssociationFilesNameTheApps(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, path := range []string{"apple-app-site-association", ".well-known/apple-app-site-association"} {
		r := e.get(path)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		want := `{"applinks":{"apps":[],"details":[{"appID":"` + iosTeamID + `.` + nativeAppID + `","paths":["/ios/` + nativeAppID + `/*"]}]}}`
		if got := strings.TrimSpace(string(r.Body)); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", path, got, want)
		}
	}
	r := e.get(".well-known/assetlinks.json")
	want := `[{"relation":["delegate_permission/common.handle_all_urls"],"target":{"namespace":"android_app","package_name":"` +
		nativeAppID + `","sha256_cert_fingerprints":["` + androidCertSHA256 + `"]}}]`
	if got := strings.TrimSpace(string(r.Body)); r.Status != 200 || got != want {
		t.Errorf("assetlinks.json: %d\n%s\nwant\n%s", r.Status, got, want)
	}
}
