package login

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

const testNonce = "cHJldmlldy1ub25jZS0wMDE"

var (
	testBrand = Brand{Name: "Acme Notes", LogoURL: "https://acme.example/logo.svg", PrimaryColor: "#7c3aed"}
	testForm  = Form{Action: "/login/code", Tx: "tx-0123456789abcdef", CSRF: "csrf-token-for-tx"}
)

// views are every view in lang, in the states a person meets them, by a
// name used for the preview files.
func views(lang Lang) []struct {
	name string
	view View
} {
	p := Page{Lang: lang, Brand: testBrand, ReturnTo: "https://notes.acme.example/callback"}
	resend := Form{Action: "/login/resend", Tx: testForm.Tx, CSRF: testForm.CSRF}
	return []struct {
		name string
		view View
	}{
		{"choose", ChooseConnection{Page: p, Form: Form{Action: "/login/connection", Tx: testForm.Tx, CSRF: testForm.CSRF},
			Connections: []Connection{{Name: "email", Channel: Email}, {Name: "sms", Channel: SMS}}}},
		{"identifier-email", Identifier{Page: p, Form: testForm, Channel: Email, ChooseURL: "/login/choose?tx=1"}},
		{"identifier-email-link", Identifier{Page: p, Form: testForm, Channel: Email, SendLink: true}},
		{"identifier-email-invalid", Identifier{Page: p, Form: testForm, Channel: Email, Value: "ada@", Problem: InvalidEmail}},
		{"identifier-phone", Identifier{Page: p, Form: testForm, Channel: SMS, ChooseURL: "/login/choose?tx=1"}},
		{"identifier-phone-ratelimited", Identifier{Page: p, Form: testForm, Channel: SMS, Value: "+33612345678", Problem: RateLimited, RetryAfter: 45 * time.Second}},
		{"code-email", Code{Page: p, Form: testForm, Channel: Email, Identifier: "ada@example.com", AnotherURL: "/login/identifier?tx=1", Resend: resend}},
		{"code-email-cooldown", Code{Page: p, Form: testForm, Channel: Email, Identifier: "ada@example.com", AnotherURL: "/login/identifier?tx=1", Resend: resend, ResendIn: 30 * time.Second}},
		{"code-sms-wrong", Code{Page: p, Form: testForm, Channel: SMS, Identifier: "+33 6 12 34 56 78", Length: 4, AnotherURL: "/login/identifier?tx=1", Resend: resend, Problem: WrongCode}},
		{"code-sms-too-many-tries", Code{Page: p, Form: testForm, Channel: SMS, Identifier: "+33612345678", Resend: resend, Problem: TooManyTries}},
		{"linksent", LinkSent{Page: p, Identifier: "ada@example.com", AnotherURL: "/login/identifier?tx=1", Resend: resend, ResendIn: 90 * time.Second}},
		{"error", Error{Page: p, Problem: LoginExpired}},
		{"error-noapp", Error{Page: Page{Lang: lang}, Problem: InvalidRequest}},
		{"formpost", FormPost{Page: p, Action: "https://notes.acme.example/callback",
			Fields: []Field{{Name: "code", Value: "SplxlOBeZQQYbYS6WxSbIA"}, {Name: "state", Value: "af0ifjsldkj"}}}},
		{"signedout", SignedOut{Page: Page{Lang: lang, Brand: testBrand}}},
		{"signedout-return-not-allowed", SignedOut{Page: Page{Lang: lang}, Problem: ReturnNotAllowed}},
		{"coverify", CrossOriginVerify{Page: p, Action: "/co/verify", Location: "https://notes.acme.example/co-verify.html", ID: "q1w2e3r4t5y6u7i8",
			Fields: []Field{{Name: "client_id", Value: "notes"}, {Name: "login_ticket", Value: "tkt"}, {Name: "state", Value: "af0ifjsldkj"}}}},
	}
}

func render(t *testing.T, v View) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, v, testNonce); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// all returns the elements named tag under n, in document order.
func all(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && (tag == "" || d.Data == tag) {
			out = append(out, d)
		}
	}
	return out
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func inside(n *html.Node, tag string) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == tag {
			return true
		}
	}
	return false
}

// TestViews_AreStrictCSPAccessibleAndCSRFProtected renders every view in
// every language and checks what the CSP, assistive technology and the
// CSRF defence depend on.
func TestViews_AreStrictCSPAccessibleAndCSRFProtected(t *testing.T) {
	for _, lang := range Langs {
		for _, tc := range views(lang) {
			t.Run(string(lang)+"/"+tc.name, func(t *testing.T) {
				out, doc := render(t, tc.view)
				if strings.Contains(out, "ZgotmplZ") {
					t.Error("html/template refused a value (ZgotmplZ)")
				}
				root := all(doc, "html")[0]
				if l, _ := attr(root, "lang"); l != string(lang) {
					t.Errorf("<html lang=%q>, want %q", l, lang)
				}
				if d, _ := attr(root, "dir"); d != "ltr" {
					t.Errorf("<html dir=%q>, want ltr", d)
				}
				if len(all(doc, "h1")) != 1 || len(all(doc, "title")) != 1 {
					t.Error("want one <h1> and one <title>")
				}
				for _, el := range all(doc, "") {
					for _, a := range el.Attr {
						if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
							t.Errorf("<%s %s=…>: inline attributes need 'unsafe-inline'", el.Data, a.Key)
						}
					}
					if el.Data == "script" || el.Data == "style" {
						if n, _ := attr(el, "nonce"); n != testNonce {
							t.Errorf("<%s> without the nonce", el.Data)
						}
						if _, ok := attr(el, "src"); ok {
							t.Errorf("<%s src>: nothing is loaded from elsewhere", el.Data)
						}
					}
					if el.Data == "link" {
						t.Error("<link>: the stylesheet is embedded")
					}
				}
				labels := map[string]bool{}
				for _, l := range all(doc, "label") {
					f, _ := attr(l, "for")
					labels[f] = true
				}
				for _, in := range all(doc, "input") {
					if typ, _ := attr(in, "type"); typ == "hidden" {
						continue
					}
					id, _ := attr(in, "id")
					if id == "" || !labels[id] {
						t.Errorf("input %v has no <label for>", in.Attr)
					}
					if _, ok := attr(in, "autocomplete"); !ok {
						t.Errorf("input %q has no autocomplete", id)
					}
				}
				for _, b := range all(doc, "button") {
					if strings.TrimSpace(text(b)) == "" {
						t.Error("a button without a name")
					}
					if typ, _ := attr(b, "type"); typ != "submit" {
						t.Errorf("button type=%q, want submit", typ)
					}
				}
				for _, a := range all(doc, "a") {
					if strings.TrimSpace(text(a)) == "" {
						t.Error("a link without a name")
					}
				}
				_, formPost := tc.view.(FormPost)
				_, coVerify := tc.view.(CrossOriginVerify) // the ticket and its verifier are the proof
				formPost = formPost || coVerify
				for _, f := range all(doc, "form") {
					if m, _ := attr(f, "method"); m != "post" {
						t.Errorf("form method=%q, want post", m)
					}
					if formPost {
						continue // posts to the application, not here
					}
					got := map[string]string{}
					for _, in := range all(f, "input") {
						if typ, _ := attr(in, "type"); typ == "hidden" {
							name, _ := attr(in, "name")
							got[name], _ = attr(in, "value")
						}
					}
					if got[FieldTx] != testForm.Tx || got[FieldCSRF] != testForm.CSRF {
						t.Errorf("form %v: hidden tx/csrf = %q/%q", f.Attr, got[FieldTx], got[FieldCSRF])
					}
					if a, _ := attr(f, "action"); a == "" {
						t.Error("form without action")
					}
				}
			})
		}
	}
}

func TestIdentifier_InputsForEmailAndPhone(t *testing.T) {
	for _, tt := range []struct {
		channel                   Channel
		typ, autocomplete, inmode string
	}{
		{Email, "email", "email", ""},
		{SMS, "tel", "tel", "tel"},
	} {
		_, doc := render(t, Identifier{Form: testForm, Channel: tt.channel, Value: "given"})
		in := byID(t, doc, "identifier")
		for k, want := range map[string]string{"type": tt.typ, "autocomplete": tt.autocomplete, "inputmode": tt.inmode, "name": FieldIdentifier, "value": "given"} {
			if got, _ := attr(in, k); got != want {
				t.Errorf("%s: %s=%q, want %q", tt.channel, k, got, want)
			}
		}
		if _, ok := attr(in, "required"); !ok {
			t.Errorf("%s: input not required", tt.channel)
		}
		if _, ok := attr(in, "aria-invalid"); ok {
			t.Errorf("%s: aria-invalid without a problem", tt.channel)
		}
	}
}

func TestIdentifier_ProblemIsAnnouncedAndTiedToTheInput(t *testing.T) {
	_, doc := render(t, Identifier{Form: testForm, Channel: Email, Value: "ada@", Problem: InvalidEmail})
	p := byID(t, doc, "problem")
	if r, _ := attr(p, "role"); r != "alert" {
		t.Errorf("problem role=%q, want alert", r)
	}
	if got := text(p); got != InvalidEmail.Text(English, 0) {
		t.Errorf("problem text %q", got)
	}
	in := byID(t, doc, "identifier")
	if v, _ := attr(in, "aria-invalid"); v != "true" {
		t.Error("input not aria-invalid")
	}
	if v, _ := attr(in, "aria-describedby"); v != "problem hint" {
		t.Errorf("aria-describedby=%q", v)
	}
}

func TestCode_Input(t *testing.T) {
	for _, tt := range []struct {
		length  int
		pattern string
	}{{0, "[0-9]{6}"}, {4, "[0-9]{4}"}, {10, "[0-9]{10}"}} {
		_, doc := render(t, Code{Form: testForm, Identifier: "ada@example.com", Length: tt.length})
		in := byID(t, doc, "code")
		for k, want := range map[string]string{
			"name": FieldCode, "type": "text", "autocomplete": "one-time-code", "inputmode": "numeric",
			"pattern": tt.pattern, "maxlength": tt.pattern[6 : len(tt.pattern)-1],
		} {
			if got, _ := attr(in, k); got != want {
				t.Errorf("length %d: %s=%q, want %q", tt.length, k, got, want)
			}
		}
	}
}

func TestCode_ShowsWhereTheCodeWentAndAnotherLink(t *testing.T) {
	_, doc := render(t, Code{Form: testForm, Channel: SMS, Identifier: "+33 6 12 34 56 78", AnotherURL: "/login/identifier?tx=1&x=2"})
	strong := all(doc, "strong")
	if len(strong) != 1 || text(strong[0]) != "+33 6 12 34 56 78" {
		t.Errorf("identifier not shown in <strong>: %v", strong)
	}
	links := all(doc, "a")
	if len(links) != 1 || text(links[0]) != "Use another phone number" {
		t.Fatalf("links %v", links)
	}
	if href, _ := attr(links[0], "href"); href != "/login/identifier?tx=1&x=2" {
		t.Errorf("href=%q", href)
	}
	if h := text(all(doc, "h1")[0]); h != "Check your phone" {
		t.Errorf("heading %q", h)
	}
}

func TestCode_ResendWaitsForItsCooldown(t *testing.T) {
	resend := Form{Action: "/login/resend", Tx: testForm.Tx, CSRF: testForm.CSRF}

	_, doc := render(t, Code{Form: testForm, Identifier: "a@example.com", Resend: resend, ResendIn: 1500 * time.Millisecond})
	b := byID(t, doc, "resend")
	if _, ok := attr(b, "disabled"); !ok {
		t.Error("resend button enabled during the cooldown")
	}
	wait := byID(t, doc, "resend-wait")
	if got := text(wait); got != "You can ask for a new one in 2 seconds." {
		t.Errorf("wait text %q", got)
	}
	if s, _ := attr(wait, "data-seconds"); s != "2" {
		t.Errorf("data-seconds=%q", s)
	}
	if len(all(doc, "noscript")) != 1 {
		t.Error("no hint for browsers without JavaScript")
	}
	if scripts := all(doc, "script"); len(scripts) != 1 || !strings.Contains(text(scripts[0]), "resend-wait") {
		t.Error("no script to enable the button")
	}
	if forms := all(doc, "form"); len(forms) != 2 || !inside(b, "form") {
		t.Errorf("resend is not a form of its own: %d forms", len(forms))
	} else if a, _ := attr(forms[1], "action"); a != "/login/resend" {
		t.Errorf("resend form action %q", a)
	}

	_, doc = render(t, Code{Form: testForm, Identifier: "a@example.com", Resend: resend})
	if _, ok := attr(byID(t, doc, "resend"), "disabled"); ok {
		t.Error("resend button disabled without a cooldown")
	}
	if len(all(doc, "script")) != 0 || find(doc, "resend-wait") != nil {
		t.Error("countdown without a cooldown")
	}

	_, doc = render(t, Code{Form: testForm, Identifier: "a@example.com"})
	if find(doc, "resend") != nil {
		t.Error("resend form without a Resend action")
	}
}

func TestLinkSent_SaysAnyBrowserWorks(t *testing.T) {
	_, doc := render(t, LinkSent{Identifier: "ada@example.com"})
	body := text(all(doc, "main")[0])
	for _, want := range []string{"ada@example.com", "in this browser or another one"} {
		if !strings.Contains(body, want) {
			t.Errorf("page does not say %q:\n%s", want, body)
		}
	}
	if len(all(doc, "form")) != 0 {
		t.Error("a form without a Resend action")
	}
}

func TestFormPost_SubmitsByScriptWithAVisibleButton(t *testing.T) {
	_, doc := render(t, FormPost{Action: "https://app.example.com/cb?x=1",
		Fields: []Field{{Name: "code", Value: `a"><script>alert(1)</script>`}, {Name: "state", Value: "s&t"}}})
	forms := all(doc, "form")
	if len(forms) != 1 {
		t.Fatalf("%d forms", len(forms))
	}
	if a, _ := attr(forms[0], "action"); a != "https://app.example.com/cb?x=1" {
		t.Errorf("action %q", a)
	}
	got := map[string]string{}
	for _, in := range all(forms[0], "input") {
		n, _ := attr(in, "name")
		got[n], _ = attr(in, "value")
	}
	if got["code"] != `a"><script>alert(1)</script>` || got["state"] != "s&t" {
		t.Errorf("fields %q", got)
	}
	buttons := all(forms[0], "button")
	if len(buttons) != 1 || inside(buttons[0], "noscript") {
		t.Error("want one visible submit button")
	}
	scripts := all(doc, "script")
	if len(scripts) != 1 || !strings.Contains(text(scripts[0]), `getElementById("form-post").submit()`) {
		t.Error("no auto-submit script")
	}
	if id, _ := attr(forms[0], "id"); id != "form-post" {
		t.Errorf("form id %q", id)
	}
}

func TestWrite_EscapesTheApplicationName(t *testing.T) {
	name := `<script>alert(1)</script><img src=x onerror=alert(2)>&amp;`
	for _, tc := range views(English) {
		v := withBrand(tc.view, Brand{Name: name})
		out, doc := render(t, v)
		if strings.Contains(out, "<script>alert") || strings.Contains(out, "<img src=x") {
			t.Errorf("%s: markup of the name reached the page", tc.name)
		}
		if got := text(all(doc, "title")[0]); !strings.Contains(got, name) {
			t.Errorf("%s: title %q does not show the name as text", tc.name, got)
		}
		if len(all(doc, "img")) != 0 {
			t.Errorf("%s: an <img> from the name", tc.name)
		}
	}
	_, doc := render(t, Identifier{Page: Page{Brand: Brand{Name: name}}, Form: testForm})
	if got := text(all(doc, "h1")[0]); got != "Sign in to "+name {
		t.Errorf("heading %q", got)
	}
}

func TestWrite_UnknownLanguageIsEnglish(t *testing.T) {
	_, doc := render(t, Error{Page: Page{Lang: "xx"}})
	if l, _ := attr(all(doc, "html")[0], "lang"); l != "en" {
		t.Errorf("lang %q", l)
	}
}

func TestWrite_RefusesWhatIsNotAView(t *testing.T) {
	if err := Write(&bytes.Buffer{}, Page{}, testNonce); err == nil {
		t.Error("a bare Page rendered")
	}
	if err := Write(&bytes.Buffer{}, nil, testNonce); err == nil {
		t.Error("nil rendered")
	}
}

func TestWrite_DoesNotChangeTheView(t *testing.T) {
	conns := []Connection{{Name: "e", Channel: "weird"}}
	_, _ = render(t, ChooseConnection{Form: testForm, Connections: conns})
	if conns[0].Channel != "weird" {
		t.Error("Write changed the caller's connections")
	}
}

func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	n := find(doc, id)
	if n == nil {
		t.Fatalf("no element #%s", id)
	}
	return n
}

func find(doc *html.Node, id string) *html.Node {
	for _, el := range all(doc, "") {
		if v, _ := attr(el, "id"); v == id {
			return el
		}
	}
	return nil
}

// withBrand returns v with its Page's brand replaced.
func withBrand(v View, b Brand) View {
	switch v := v.(type) {
	case ChooseConnection:
		v.Brand = b
		return v
	case Identifier:
		v.Brand = b
		return v
	case Code:
		v.Brand = b
		return v
	case LinkSent:
		v.Brand = b
		return v
	case Error:
		v.Brand = b
		return v
	case FormPost:
		v.Brand = b
		return v
	case CrossOriginVerify:
		v.Brand = b
		return v
	case SignedOut:
		v.Brand = b
		return v
	}
	panic(fmt.Sprintf("%T", v))
}

func TestCrossOriginVerify_FramesTheApplicationsPageAndPostsTheVerifier(t *testing.T) {
	v := CrossOriginVerify{Action: "/co/verify", Location: "https://app.example.com:8443/co?x=1", ID: "abc",
		Fields: []Field{{Name: "login_ticket", Value: `t"><script>`}}}
	_, doc := render(t, v)
	form := byID(t, doc, "co-verify")
	if loc, _ := attr(form, "data-location"); loc != v.Location {
		t.Errorf("data-location = %q", loc)
	}
	if id, _ := attr(form, "data-id"); id != "abc" {
		t.Errorf("data-id = %q", id)
	}
	got := map[string]string{}
	for _, in := range all(form, "input") {
		name, _ := attr(in, "name")
		got[name], _ = attr(in, "value")
	}
	if got["login_ticket"] != `t"><script>` || got[FieldVerifier] != "" || len(got) != 2 {
		t.Errorf("fields = %q", got)
	}
	if f := byID(t, doc, "co-frame"); f.Data != "iframe" {
		t.Errorf("#co-frame is a <%s>", f.Data)
	} else if _, ok := attr(f, "src"); ok {
		t.Error("the frame loads before the script listens")
	}
	scripts := all(doc, "script")
	if len(scripts) != 1 || !strings.Contains(text(scripts[0]), "co_verifier_request") {
		t.Error("no verification script")
	}

	rec := httptest.NewRecorder()
	if err := Render(rec, http.StatusOK, v); err != nil {
		t.Fatal(err)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "; frame-src https://app.example.com:8443;") {
		t.Errorf("CSP = %q, want the application's origin as frame-src", csp)
	}
	for _, loc := range []string{"javascript:alert(1)", "com.example.app://co", "https://*.example.com/co"} {
		rec := httptest.NewRecorder()
		_ = Render(rec, http.StatusOK, CrossOriginVerify{Action: "/co/verify", Location: loc})
		if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "frame-src") {
			t.Errorf("Location %q: CSP = %q, want no frame-src", loc, csp)
		}
	}
}
