package delivery

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/osteele/liquid"

	"github.com/sesame-id/sesame/internal/tenant"
)

// Template syntaxes of an sms connection (options.syntax).
const (
	SyntaxMacros = "md_with_macros" // Auth0's default
	SyntaxLiquid = "liquid"
)

// Default SMS templates, used when options.template is empty. The text is
// the one Auth0 puts in a new sms connection.
const (
	DefaultSMSTemplate       = "Your verification code is: @@password@@"
	DefaultSMSLiquidTemplate = "Your verification code is: {{ password }}"
)

// SMSVars are the values an SMS template can use. Their template names are
// Auth0's: password and code (the one-time code), application.name,
// phone_number, request_language.
type SMSVars struct {
	Code            string
	ApplicationName string
	PhoneNumber     string // the recipient, E.164
	RequestLanguage string // x-request-language, else Accept-Language; may be empty
}

// RenderSMS renders the message body of an sms connection for v: the
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
func RenderSMS(opts tenant.ConnectionOptions, v SMSVars) (string, error) {
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
			src = DefaultSMSTemplate
		}
		out = renderMacros(src, v)
	case SyntaxLiquid:
		if strings.TrimSpace(src) == "" {
			src = DefaultSMSLiquidTemplate
		}
		out, err = renderSMSLiquid(src, v)
		if err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("delivery: sms: unknown template syntax %q (want %q or %q)", syntax, SyntaxMacros, SyntaxLiquid)
	}
	out = strings.TrimSpace(out)
	if out == "" {
		return "", errors.New("delivery: sms: the template renders an empty message")
	}
	return out, nil
}

var macroRe = regexp.MustCompile(`@@[ \t]*([A-Za-z_.]+)[ \t]*@@`)

// renderMacros substitutes in one pass, so a value that itself holds
// @@...@@ (an application name, say) is never expanded again.
func renderMacros(src string, v SMSVars) string {
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

// renderSMSLiquid renders a liquid SMS template with Auth0's names.
func renderSMSLiquid(src string, v SMSVars) (string, error) {
	var lang any // nil, as Auth0 has it, when no language was asked for
	if v.RequestLanguage != "" {
		lang = v.RequestLanguage
	}
	out, err := liquidRenderer().execute(src, liquid.Bindings{
		"password":         v.Code,
		"code":             v.Code,
		"application":      map[string]any{"name": v.ApplicationName},
		"phone_number":     v.PhoneNumber,
		"request_language": lang,
	})
	if err != nil {
		return "", fmt.Errorf("delivery: sms template: %w", err)
	}
	return out, nil
}
