package delivery

import (
	"strings"
	"sync"
	"testing"

	"github.com/sesame-id/sesame/internal/tenant"
)

func emailConn(tmpl *tenant.EmailTemplate) *tenant.Connection {
	return &tenant.Connection{
		Name:     "email",
		Strategy: "email",
		Options:  tenant.ConnectionOptions{Email: tmpl, TOTP: tenant.TOTP{Length: 6, TimeStep: 180}},
	}
}

const testLink = "https://id.example.test/passwordless/verify_redirect?client_id=abc&connection=email&email=ann%40example.test&verification_code=483920&state=x"

func TestRenderEmail_DefaultTemplate(t *testing.T) {
	provider := &tenant.EmailProvider{Name: "smtp", DefaultFromAddress: "login@example.test"}
	tests := []struct {
		name     string
		vars     EmailVars
		contains []string // in both parts
		absent   []string // from both parts
	}{
		{
			name:     "code",
			vars:     EmailVars{Code: "483920", Send: "code", ApplicationName: "My App", Email: "ann@example.test"},
			contains: []string{"483920", "My App", "expire in 3 minutes"},
			absent:   []string{"verify_redirect", "link will"},
		},
		{
			name:     "link",
			vars:     EmailVars{Code: "483920", Link: testLink, Send: "link", ApplicationName: "My App", Email: "ann@example.test"},
			contains: []string{"verification_code=483920", "My App", "This link will expire in 3 minutes"},
			absent:   []string{"code will"},
		},
		{
			name:     "link_ios",
			vars:     EmailVars{Code: "483920", Link: testLink, Send: "link_ios", ApplicationName: "My App", Email: "ann@example.test", ExpiresInMinutes: 1},
			contains: []string{"verify_redirect", "expire in 1 minute "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := RenderEmail(emailConn(nil), provider, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if e.Subject != "Welcome to My App" {
				t.Errorf("subject %q", e.Subject)
			}
			if e.From != "<login@example.test>" {
				t.Errorf("from %q", e.From)
			}
			if e.To != "ann@example.test" {
				t.Errorf("to %q", e.To)
			}
			for _, part := range []struct{ name, body string }{{"html", e.HTML}, {"text", e.Text}} {
				for _, s := range tt.contains {
					if !strings.Contains(part.body, s) {
						t.Errorf("%s part lacks %q:\n%s", part.name, s, part.body)
					}
				}
				for _, s := range tt.absent {
					if strings.Contains(part.body, s) {
						t.Errorf("%s part has %q:\n%s", part.name, s, part.body)
					}
				}
			}
			if tt.vars.Link != "" {
				// The link goes into href escaped (& as &amp;).
				want := `href="` + strings.ReplaceAll(testLink, "&", "&amp;") + `"`
				if !strings.Contains(e.HTML, want) {
					t.Errorf("html lacks %s", want)
				}
				if !strings.Contains(e.Text, testLink) {
					t.Errorf("text lacks the raw link")
				}
			}
		})
	}
}

func TestRenderEmail_DefaultEscapesApplicationName(t *testing.T) {
	e, err := RenderEmail(emailConn(nil), nil, EmailVars{Code: "1", Send: "code", ApplicationName: `R&D <Tools>`, Email: "a@b.test"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "<Tools>") || !strings.Contains(e.HTML, "R&amp;D &lt;Tools&gt;") {
		t.Errorf("application name not escaped in html")
	}
	if !strings.Contains(e.Text, "R&D <Tools>") {
		t.Errorf("text should carry the name as is:\n%s", e.Text)
	}
	if e.From != `"R&D <Tools>" <no-reply@localhost>` {
		t.Errorf("from %q", e.From)
	}
}

func TestRenderEmail_FromPrecedence(t *testing.T) {
	provider := &tenant.EmailProvider{DefaultFromAddress: "provider@example.test"}
	vars := EmailVars{Code: "1", Send: "code", ApplicationName: "Acme, Inc.", Email: "a@b.test", DefaultFrom: "{{ application.name }} <fallback@example.test>"}
	tests := []struct {
		name     string
		connFrom string
		provider *tenant.EmailProvider
		want     string
	}{
		{"connection", "{{ application.name }} <conn@example.test>", provider, `"Acme, Inc." <conn@example.test>`},
		{"auth0 default ignored", "{{ application.name }} <root@auth0.com>", provider, "<provider@example.test>"},
		{"provider", "", provider, "<provider@example.test>"},
		{"DefaultFrom", "", nil, `"Acme, Inc." <fallback@example.test>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := RenderEmail(emailConn(&tenant.EmailTemplate{From: tt.connFrom}), tt.provider, vars)
			if err != nil {
				t.Fatal(err)
			}
			if e.From != tt.want {
				t.Errorf("from %q, want %q", e.From, tt.want)
			}
		})
	}
}

func TestRenderEmail_CustomTemplate(t *testing.T) {
	conn := emailConn(&tenant.EmailTemplate{
		From:    "{{ application.name }} Login <login@example.test>",
		Subject: "{{ code }} is your {{ application.name }} code",
		Syntax:  "liquid",
		Body: `<html><head><style>p { color: red }</style></head><body>
<h1>Hello   {{ email }}</h1>
<p>Your code for {{ application.name }} is <b>{{ code }}</b>.</p>
{% if send == 'link' %}<p><a href="{{ link }}">Sign in</a></p>{% endif %}
{% if operation %}<p>op={{ operation }}</p>{% endif %}
<p>lang={{ request_language }}&nbsp;&amp; more</p>
</body></html>`,
	})
	e, err := RenderEmail(conn, nil, EmailVars{
		Code: "771234", Link: "https://x.test/v?a=1&b=2", Send: "link", ApplicationName: "Shop",
		Email: "bob@example.test", RequestLanguage: "fr",
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.From != `"Shop Login" <login@example.test>` {
		t.Errorf("from %q", e.From)
	}
	if e.Subject != "771234 is your Shop code" {
		t.Errorf("subject %q", e.Subject)
	}
	if !strings.Contains(e.HTML, "<b>771234</b>") || !strings.Contains(e.HTML, "for Shop is") {
		t.Errorf("html:\n%s", e.HTML)
	}
	wantText := "Hello bob@example.test\n\nYour code for Shop is 771234.\n\nSign in <https://x.test/v?a=1&b=2>\n\nlang=fr & more\n"
	if e.Text != wantText {
		t.Errorf("text:\n%q\nwant\n%q", e.Text, wantText)
	}
	if strings.Contains(e.Text, "color") || strings.Contains(e.Text, "op=") {
		t.Errorf("text keeps style or unset operation:\n%s", e.Text)
	}
}

func TestRenderEmail_BrokenTemplateIsAnError(t *testing.T) {
	tests := map[string]tenant.EmailTemplate{
		"unclosed if":      {Body: "{% if send == 'code' %}{{ code }}"},
		"unknown tag":      {Body: "{% frobnicate %}"},
		"bad subject":      {Subject: "{{ code | nosuchfilter }}"},
		"render error":     {Body: "{{ 1 | divided_by: 0 }}"},
		"bad from":         {From: "{% if %}"},
		"include disabled": {Body: `{% include "/etc/passwd" %}`},
		"from not address": {From: "{{ application.name }}"},
	}
	for name, tmpl := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := RenderEmail(emailConn(&tmpl), nil, EmailVars{Code: "1", Send: "code", ApplicationName: "App", Email: "a@b.test"})
			if err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestRenderEmail_ConcurrentUseIsSafe(t *testing.T) {
	conn := emailConn(&tenant.EmailTemplate{Body: "<p>{{ code }}</p>"})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			code := strings.Repeat("7", i%6+1)
			e, err := RenderEmail(conn, nil, EmailVars{Code: code, Send: "code", ApplicationName: "A", Email: "a@b.test"})
			if err != nil || e.Text != code+"\n" {
				t.Errorf("got %q, %v", e.Text, err)
			}
		})
	}
	wg.Wait()
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain   text\n\n here", "plain text here\n"},
		{"<p>a</p><p>b</p>", "a\n\nb\n"},
		{"a<br>b<br/>c", "a\nb\nc\n"},
		{`<a href="https://x.test/">https://x.test/</a>`, "https://x.test/\n"},
		{`<a href='https://x.test/?a=1&amp;b=2'><img src="logo.png"></a>`, "https://x.test/?a=1&b=2\n"},
		{`<a href="#top">Top</a>`, "Top\n"},
		{"<!-- secret --><script>alert(1)</script>x &lt; y", "x < y\n"},
		{"1 < 2 and 3 > 2", "1 < 2 and 3 > 2\n"},
		{"<ul><li>one</li><li>two</li></ul>", "- one\n- two\n"},
		{"<table><tr><td>a</td><td>b</td></tr></table>", "a b\n"},
	}
	for _, tt := range tests {
		if got := HTMLToText(tt.in); got != tt.want {
			t.Errorf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
