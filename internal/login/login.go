// Package login renders the hosted passwordless login pages: choose email
// or phone, enter the identifier, enter the code (or read that a link was
// sent), an error page, and the form_post response. It does no routing and
// reads no store: the HTTP layer fills plain view structs (the form
// actions, the login transaction id and its CSRF token, what went wrong)
// and calls Render.
//
// Every page is html/template with the stylesheet embedded in a <style>
// element and, where needed, a few lines of script, both carrying the
// response's CSP nonce: the policy (SecurityHeaders) has no
// 'unsafe-inline', and the pages carry no style or event-handler
// attributes. Every page works without JavaScript. Pages are in English,
// French or German (Negotiate), and branded with the application's name,
// logo and colour (Brand).
package login

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Names of the form fields the pages post.
const (
	FieldTx         = "tx"         // the login transaction id, in every form
	FieldCSRF       = "csrf"       // CSRF.Token of the transaction, in every form
	FieldConnection = "connection" // ChooseConnection: the chosen connection's name
	FieldIdentifier = "identifier" // Identifier: the email address or phone number
	FieldCode       = "code"       // Code: the one-time code
)

// Channel is how a connection reaches the person: its strategy.
type Channel string

// The channels of the passwordless connections.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
)

// Page is what every view has.
type Page struct {
	// Lang is the page's language (Negotiate); an unsupported one is English.
	Lang  Lang
	Brand Brand
	// ReturnTo is the redirect_uri the login ends at. Its origin is added
	// to the CSP's form-action, because browsers check the redirect that
	// answers a form's POST against it too.
	ReturnTo string
}

func (p Page) page() Page { return p }

// Form is what every form of the login pages posts besides its own input:
// the HTTP layer sets all three.
type Form struct {
	Action string // where the form posts, a path of this server
	Tx     string // the login transaction id (FieldTx)
	CSRF   string // CSRF.Token(Tx) (FieldCSRF)
}

// View is one of the pages: ChooseConnection, Identifier, Code, LinkSent,
// Error or FormPost.
type View interface{ page() Page }

// ChooseConnection asks email or phone: one button per connection, each
// posting FieldConnection with the connection's name.
type ChooseConnection struct {
	Page
	Form
	// Connections are the connections enabled for the client, in the
	// order shown.
	Connections []Connection
}

// Connection is one button of ChooseConnection.
type Connection struct {
	Name    string // the connection's name, posted
	Channel Channel
}

// Identifier asks for the email address or phone number, posted as
// FieldIdentifier.
type Identifier struct {
	Page
	Form
	Channel Channel
	// SendLink says that an email connection sends a link, not a code.
	SendLink bool
	// Value fills the input again after a problem.
	Value      string
	Problem    Problem
	RetryAfter time.Duration // with RateLimited
	// ChooseURL goes back to ChooseConnection; "" shows no link.
	ChooseURL string
}

// Code asks for the code that was sent, posted as FieldCode.
type Code struct {
	Page
	Form
	Channel Channel
	// Identifier is where the code went, as the person typed it or as it
	// was canonicalised.
	Identifier string
	// Length is the number of digits (options.totp.length); 0 means 6.
	Length int
	// AnotherURL starts again with another identifier; "" shows no link.
	AnotherURL string
	// Resend is the separate form that asks for a new code; an empty
	// Action shows none.
	Resend Form
	// ResendIn is how long until a new code may be asked for: the button
	// is disabled and the page says how long to wait.
	ResendIn   time.Duration
	Problem    Problem
	RetryAfter time.Duration // with RateLimited
}

// LinkSent says a magic link was emailed. The link finishes the login in
// whichever browser opens it.
type LinkSent struct {
	Page
	Identifier string
	AnotherURL string
	Resend     Form
	ResendIn   time.Duration
	Problem    Problem
	RetryAfter time.Duration
}

// Error is the page for a problem that cannot be sent back to the
// application (no valid redirect_uri, a transaction that is gone).
type Error struct {
	Page
	Problem    Problem // NoProblem is said as Generic
	RetryAfter time.Duration
}

// FormPost sends the authorization response to the application
// (response_mode=form_post): a form of hidden fields posted by a script,
// with a visible button for browsers without JavaScript. Its Action's
// origin is added to the CSP's form-action.
type FormPost struct {
	Page
	Action string // the redirect_uri
	Fields []Field
}

// Field is one hidden field of FormPost.
type Field struct{ Name, Value string }

// SignedOut says the login session ended (/v2/logout, /oidc/logout) when
// there is no application to go back to: none was named, or Problem
// (ReturnNotAllowed) says why not.
type SignedOut struct {
	Page
	Problem Problem
}

// CrossOriginVerify finishes a cross-origin login in a browser that did not
// keep the login ticket's cookie (third-party cookies blocked): it loads the
// application's verification page (the client's cross_origin_loc, which
// runs auth0.js's crossOriginVerification) in a hidden frame, asks it over
// postMessage for the verifier auth0.js stored under ID, and posts it with
// Fields to Action. Without an answer within ten seconds it posts an empty
// verifier, which is refused. Location's origin is the CSP's frame-src.
type CrossOriginVerify struct {
	Page
	Action   string // where the form posts, a path of this server
	Location string // the client's cross_origin_loc
	ID       string // the ticket's co_id
	Fields   []Field
}

// FieldVerifier is the field CrossOriginVerify fills with the verifier.
const FieldVerifier = "co_verifier"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/login.css
var stylesheet string

//go:embed assets/resend.js
var resendScript string

//go:embed assets/formpost.js
var formPostScript string

//go:embed assets/coverify.js
var crossOriginScript string

var funcs = template.FuncMap{
	"t": func(l Lang, key string, args ...any) string { return l.text(key, args...) },
	// bold formats key with each argument escaped and in <strong>.
	"bold": func(l Lang, key string, args ...any) template.HTML {
		for i, a := range args {
			args[i] = template.HTML("<strong>" + html.EscapeString(fmt.Sprint(a)) + "</strong>")
		}
		return template.HTML(fmt.Sprintf(html.EscapeString(l.text(key)), args...))
	},
}

// templates holds one template per view, each the layout and the view's
// content. They are parsed once; a broken one stops the program at start
// (and every test).
var templates = func() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	m := map[string]*template.Template{}
	for _, name := range []string{"choose", "identifier", "code", "linksent", "error", "formpost", "coverify", "signedout"} {
		t := template.Must(base.Clone())
		m[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return m
}()

// pageData is what the templates see.
type pageData struct {
	Lang    Lang
	Nonce   string
	Title   string
	Heading string
	Logo    string
	Colors  template.CSS
	CSS     template.CSS
	Script  template.JS
	Notice  string // the problem, in words
	Invalid bool   // the problem is with what was typed
	Send    string // Identifier: "code" or "link"
	Digits  int    // Code
	Pattern string // Code
	Resend  *resendData
	Another *linkData
	V       any // the view
}

type resendData struct {
	Form    Form
	Wait    string // "30 seconds", "" when a new one may be asked for now
	Seconds int
	Label   string // message key of the button
}

type linkData struct{ URL, Text string }

// Render writes v as a complete response: a fresh nonce, SecurityHeaders
// (form-action widened to v's ReturnTo and a FormPost's Action), the
// content type and language, status and the page. When v cannot be
// rendered it answers 500 with a plain page and returns the error for the
// caller to log.
func Render(w http.ResponseWriter, status int, v View) error {
	nonce := NewNonce()
	var buf bytes.Buffer
	err := Write(&buf, v, nonce)
	if err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Something went wrong.</p>\n")
	}
	var actions []string
	for _, u := range formActions(v) {
		if s, ok := FormActionSource(u); ok {
			actions = append(actions, s)
		}
	}
	securityHeaders(w, nonce, actions, frameSources(v))
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", string(lang(v.page().Lang)))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return err
}

// frameSources are the origins v may frame: a CrossOriginVerify's
// Location's.
func frameSources(v View) []string {
	if cv, ok := v.(CrossOriginVerify); ok {
		if s, ok := FormActionSource(cv.Location); ok && strings.Contains(s, "//") {
			return []string{s}
		}
	}
	return nil
}

func formActions(v View) []string {
	urls := []string{v.page().ReturnTo}
	if fp, ok := v.(FormPost); ok {
		urls = append(urls, fp.Action)
	}
	return urls
}

// Write renders v's HTML with nonce on its <style> and <script> elements.
// Render is the usual entry; Write is for tests and previews.
func Write(w io.Writer, v View, nonce string) error {
	if v == nil {
		return errors.New("login: no view")
	}
	p := v.page()
	l := lang(p.Lang)
	d := pageData{
		Lang:   l,
		Nonce:  nonce,
		Logo:   p.Brand.logo(),
		Colors: p.Brand.colors(),
		CSS:    template.CSS(stylesheet),
		V:      v,
	}
	signIn := l.text("signin.noapp")
	if p.Brand.Name != "" {
		signIn = l.text("signin", p.Brand.Name)
	}
	d.Title, d.Heading = signIn, signIn
	problem := func(pr Problem, after time.Duration) {
		d.Notice = pr.Text(l, after)
		d.Invalid = pr.inputProblem()
	}
	resend := func(f Form, in time.Duration, label string) {
		if f.Action == "" {
			return
		}
		r := &resendData{Form: f, Label: label}
		if in > 0 {
			r.Wait = l.duration(in)
			r.Seconds = int((in + time.Second - 1) / time.Second)
			d.Script = template.JS(resendScript)
		}
		d.Resend = r
	}
	another := func(url string, ch Channel) {
		if url != "" {
			d.Another = &linkData{URL: url, Text: l.text("another." + string(channel(ch)))}
		}
	}
	// The heading of a page after the first does not name the
	// application, so its title does.
	withApp := func(heading string) {
		d.Heading = heading
		d.Title = heading
		if p.Brand.Name != "" {
			d.Title = heading + " – " + p.Brand.Name
		}
	}

	var name string
	switch v := v.(type) {
	case ChooseConnection:
		name = "choose"
		conns := make([]Connection, len(v.Connections))
		for i, c := range v.Connections {
			conns[i] = Connection{Name: c.Name, Channel: channel(c.Channel)}
		}
		v.Connections = conns
		d.V = v
	case Identifier:
		name = "identifier"
		d.Send = "code"
		if v.SendLink && channel(v.Channel) == Email {
			d.Send = "link"
		}
		v.Channel = channel(v.Channel)
		d.V = v
		problem(v.Problem, v.RetryAfter)
	case Code:
		name = "code"
		ch := channel(v.Channel)
		withApp(l.text("code.heading." + string(ch)))
		d.Digits = v.Length
		if d.Digits <= 0 {
			d.Digits = 6
		}
		d.Pattern = fmt.Sprintf("[0-9]{%d}", d.Digits)
		problem(v.Problem, v.RetryAfter)
		resend(v.Resend, v.ResendIn, "resend.code")
		another(v.AnotherURL, ch)
	case LinkSent:
		name = "linksent"
		withApp(l.text("code.heading.email"))
		problem(v.Problem, v.RetryAfter)
		resend(v.Resend, v.ResendIn, "resend.link")
		another(v.AnotherURL, Email)
	case Error:
		name = "error"
		withApp(l.text("error.heading"))
		pr := v.Problem
		if pr == NoProblem {
			pr = Generic
		}
		d.Notice = pr.Text(l, v.RetryAfter)
	case FormPost:
		name = "formpost"
		withApp(l.text("formpost.heading"))
		d.Script = template.JS(formPostScript)
	case SignedOut:
		name = "signedout"
		withApp(l.text("signedout.heading"))
		d.Notice = v.Problem.Text(l, 0)
	case CrossOriginVerify:
		name = "coverify"
		withApp(l.text("formpost.heading"))
		d.Script = template.JS(crossOriginScript)
	default:
		return fmt.Errorf("login: %T is not a view", v)
	}
	return templates[name].ExecuteTemplate(w, "layout", d)
}

// lang returns l when it is supported, else English.
func lang(l Lang) Lang {
	if slices.Contains(Langs, l) {
		return l
	}
	return English
}

// channel returns ch when it is SMS, else Email.
func channel(ch Channel) Channel {
	if ch == SMS {
		return SMS
	}
	return Email
}
