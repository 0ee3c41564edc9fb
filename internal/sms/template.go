package sms

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"

	"github.com/sesame-id/sesame/internal/tenant"
)

// Template syntaxes of an sms connection (options.syntax).
const (
	SyntaxMacros = "md_with_macros" // Auth0's default
	SyntaxLiquid = "liquid"
)

// Default templates, used when options.template is empty. The text is the
// one Auth0 puts in a new sms connection.
const (
	DefaultTemplate       = "Your verification code is: @@password@@"
	DefaultLiquidTemplate = "Your verification code is: {{ password }}"
)

// Vars are the values an SMS template can use. Their template names are
// Auth0's: password and code (the one-time code), application.name,
// phone_number, request_language.
type Vars struct {
	Code            string
	ApplicationName string
	PhoneNumber     string // the recipient, E.164
	RequestLanguage string // x-request-language, else Accept-Language; may be empty
}

// Render renders the message body of an sms connection for v: the
// connection's template (or the default) in its syntax, with white space
// trimmed at both ends (Liquid's {% if %} blocks leave plenty).
//
// md_with_macros replaces @@password@@, @@code@@, @@application.name@@,
// @@phone_number@@ and @@request_language@@; spaces just inside the @@
// (@@ password @@) are tolerated, and anything else between @@ is left as
// written. liquid has the same names as {{ password }}, {{ code }},
// {{ application.name }}, ..., and no {% include %}.
//
// A template that does not parse, or renders to nothing, is an error: the
// user would receive no code.
func Render(opts tenant.ConnectionOptions, v Vars) (string, error) {
	syntax := opts.Syntax
	if syntax == "" {
		syntax = SyntaxMacros
	}
	src := opts.Template
	var (
		out string
		err error
	)
	switch syntax {
	case SyntaxMacros:
		if strings.TrimSpace(src) == "" {
			src = DefaultTemplate
		}
		out = renderMacros(src, v)
	case SyntaxLiquid:
		if strings.TrimSpace(src) == "" {
			src = DefaultLiquidTemplate
		}
		out, err = defaultLiquid().render(src, v)
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("sms: unknown template syntax %q (want %q or %q)", syntax, SyntaxMacros, SyntaxLiquid)
	}
	out = strings.TrimSpace(out)
	if out == "" {
		return "", errors.New("sms: the template renders an empty message")
	}
	return out, nil
}

var macroRe = regexp.MustCompile(`@@[ \t]*([A-Za-z_.]+)[ \t]*@@`)

// renderMacros substitutes in one pass, so a value that itself holds
// @@...@@ (an application name, say) is never expanded again.
func renderMacros(src string, v Vars) string {
	return macroRe.ReplaceAllStringFunc(src, func(m string) string {
		switch macroRe.FindStringSubmatch(m)[1] {
		case "password", "code":
			return v.Code
		case "application.name":
			return v.ApplicationName
		case "phone_number":
			return v.PhoneNumber
		case "request_language":
			return v.RequestLanguage
		}
		return m
	})
}

// liquidRenderer parses every distinct template once and keeps it (bounded),
// like delivery's email renderer, whose engine is not exported.
type liquidRenderer struct {
	engine *liquid.Engine

	mu    sync.Mutex // guards cache and parsing
	cache map[string]*liquid.Template
}

const maxCachedTemplates = 256

var defaultLiquid = sync.OnceValue(func() *liquidRenderer {
	e := liquid.NewEngine()
	// Templates come from the tenant configuration; {% include %} would let
	// them read files from the server's disk.
	e.RegisterTag("include", func(render.Context) (string, error) {
		return "", errors.New("the include tag is not supported")
	})
	return &liquidRenderer{engine: e, cache: make(map[string]*liquid.Template)}
})

func (r *liquidRenderer) template(src string) (*liquid.Template, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.cache[src]; ok {
		return t, nil
	}
	t, err := r.engine.ParseString(src)
	if err != nil {
		return nil, err
	}
	if len(r.cache) >= maxCachedTemplates {
		clear(r.cache)
	}
	r.cache[src] = t
	return t, nil
}

func (r *liquidRenderer) render(src string, v Vars) (out string, err error) {
	t, perr := r.template(src)
	if perr != nil {
		return "", fmt.Errorf("sms: template: %w", perr)
	}
	// Liquid's renderer does not recover from panics in filters.
	defer func() {
		if p := recover(); p != nil {
			out, err = "", fmt.Errorf("sms: template: panic while rendering: %v", p)
		}
	}()
	var lang any // nil, as Auth0 has it, when no language was asked for
	if v.RequestLanguage != "" {
		lang = v.RequestLanguage
	}
	s, rerr := t.RenderString(liquid.Bindings{
		"password":         v.Code,
		"code":             v.Code,
		"application":      map[string]any{"name": v.ApplicationName},
		"phone_number":     v.PhoneNumber,
		"request_language": lang,
	})
	if rerr != nil {
		return "", fmt.Errorf("sms: template: %w", rerr)
	}
	return s, nil
}
