package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"slices"

	"github.com/sesame-id/sesame/internal/oauth"
)

// The pages of the login flow: small, no JavaScript except the one line
// that submits a form_post response, readable in any browser.
const pageCSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1f2328;margin:0}
main{max-width:420px;margin:12vh auto;background:#fff;border-radius:12px;padding:32px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin:0 0 12px}p{line-height:1.5}
button{font-size:1rem;padding:12px 20px;border:0;border-radius:8px;background:#0b57d0;color:#fff;cursor:pointer;width:100%}
`

const pageStyle = "<style>" + pageCSS + "</style>"

// styleSource allows the pages' one stylesheet by its hash: a CSP without
// 'unsafe-inline'.
var styleSource = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

type hiddenField struct{ Name, Value string }

type confirmData struct {
	Action      string
	Application string
	Identifier  string
	Fields      []hiddenField
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Sign in to {{.Application}}</title>` + pageStyle + `</head>
<body><main>
<h1>Sign in to {{.Application}}</h1>
{{if .Identifier}}<p>Continue as <strong>{{.Identifier}}</strong>.</p>{{end}}
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit">Sign in</button>
</form>
<p><small>If you did not ask to sign in, close this page.</small></p>
</main></body></html>
`))

type formPostData struct {
	Action string
	Fields []hiddenField
	Nonce  string
}

var formPostPage = template.Must(template.New("form_post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title>` + pageStyle + `</head>
<body><main>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.forms[0].submit()</script>
</main></body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign-in failed</title>` + pageStyle + `</head>
<body><main><h1>Sign-in failed</h1><p>{{.}}</p></main></body></html>
`))

func renderPage(w http.ResponseWriter, status int, t *template.Template, data any) {
	if w.Header().Get("Content-Security-Policy") == "" {
		secureHeaders(w)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("internal error")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func renderError(w http.ResponseWriter, status int, message string) {
	renderPage(w, status, errorPage, message)
}

// sendAuthResult redirects to the application, or posts the result to it
// with an auto-submitting form for response_mode=form_post.
func (s *Server) sendAuthResult(w http.ResponseWriter, res oauth.AuthResult) {
	noStore(w)
	if res.Mode == "form_post" {
		nonce, err := randomToken(16)
		if err != nil {
			renderError(w, http.StatusInternalServerError, "Something went wrong.")
			return
		}
		fields := []hiddenField{}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range res.Params {
				if !yield(k) {
					return
				}
			}
		}) {
			fields = append(fields, hiddenField{Name: k, Value: res.Params.Get(k)})
		}
		secureHeaders(w)
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src "+styleSource+"; frame-ancestors 'none'; base-uri 'none'")
		renderPage(w, http.StatusOK, formPostPage, formPostData{Action: res.RedirectURI, Fields: fields, Nonce: nonce})
		return
	}
	w.Header().Set("Location", res.URL())
	w.WriteHeader(http.StatusFound)
}

// secureHeaders are sent with every page of the login flow: nothing is
// cached, no referrer leaks the link, no one frames the page.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+styleSource+"; frame-ancestors 'none'; base-uri 'none'")
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
