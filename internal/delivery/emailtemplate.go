package delivery

import (
	"fmt"
	"html"
	"net/mail"
	"regexp"
	"strings"

	"github.com/osteele/liquid"

	"github.com/sesame-id/sesame/internal/tenant"
)

// Email is one rendered message, ready for a sender.
type Email struct {
	From    string `json:"from"` // RFC 5322 address, display name encoded
	To      string `json:"to"`
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}

// EmailVars are the values a passwordless email template can use. The
// Liquid names are Auth0's: code (and its alias password), link, send,
// application.name, request_language, operation, connection.name; email and
// expires_in_minutes are Sesame extras.
type EmailVars struct {
	Code            string
	Link            string // the magic link; empty for send=code
	Send            string // link, link_ios, link_android or code
	ApplicationName string
	RequestLanguage string
	Email           string // the recipient
	Operation       string // "change_email" or empty

	// ExpiresInMinutes is the lifetime of the code or link, shown by the
	// default template. Zero: derived from the connection's totp.time_step.
	ExpiresInMinutes int

	// DefaultFrom is the sender used when neither the connection nor the
	// email provider names one (Liquid allowed). Empty: DefaultFromTemplate.
	DefaultFrom string
}

// Default template parts, used when the connection does not set its own.
const (
	DefaultSubjectTemplate = "Welcome to {{ application.name }}"
	DefaultFromTemplate    = "{{ application.name }} <no-reply@localhost>"
)

// RenderEmail renders the passwordless email of conn for v. provider may be
// nil. A broken custom template is reported as an error, never a panic.
func RenderEmail(conn *tenant.Connection, provider *tenant.EmailProvider, v EmailVars) (Email, error) {
	return renderEmail(conn, provider, v)
}

// emailTemplate renders one part (what: from, subject, body, text) of an
// email.
func emailTemplate(what, src string, b liquid.Bindings) (string, error) {
	out, err := liquidRenderer().execute(src, b)
	if err != nil {
		return "", fmt.Errorf("delivery: email %s template: %w", what, err)
	}
	return out, nil
}

func renderEmail(conn *tenant.Connection, provider *tenant.EmailProvider, v EmailVars) (Email, error) {
	var custom tenant.EmailTemplate
	if conn != nil && conn.Options.Email != nil {
		custom = *conn.Options.Email
	}
	if v.ExpiresInMinutes == 0 && conn != nil && conn.Options.TOTP.TimeStep > 0 {
		// Round down: better to promise less time than the code has.
		v.ExpiresInMinutes = max(1, conn.Options.TOTP.TimeStep/60)
	}
	if v.Send == "" {
		v.Send = "code"
		if v.Link != "" {
			v.Send = "link"
		}
	}
	b := bindings(conn, v)

	fromSrc := custom.From
	if isAuth0Address(fromSrc) {
		// Auth0's dashboard default ("... <root@auth0.com>") comes along in
		// exported tenants; we cannot send as auth0.com.
		fromSrc = ""
	}
	if fromSrc == "" && provider != nil {
		fromSrc = provider.DefaultFromAddress
	}
	if fromSrc == "" {
		fromSrc = v.DefaultFrom
	}
	if fromSrc == "" {
		fromSrc = DefaultFromTemplate
	}
	subjectSrc := custom.Subject
	if subjectSrc == "" {
		subjectSrc = DefaultSubjectTemplate
	}

	var e Email
	from, err := emailTemplate("from", fromSrc, b)
	if err != nil {
		return Email{}, err
	}
	if e.From, err = normalizeFrom(from); err != nil {
		return Email{}, err
	}
	subject, err := emailTemplate("subject", subjectSrc, b)
	if err != nil {
		return Email{}, err
	}
	e.Subject = strings.Join(strings.Fields(subject), " ")
	e.To = v.Email

	if custom.Body == "" {
		if e.HTML, err = emailTemplate("body", defaultHTMLTemplate, b); err != nil {
			return Email{}, err
		}
		if e.Text, err = emailTemplate("text", defaultTextTemplate, b); err != nil {
			return Email{}, err
		}
		e.Text = tidyText(e.Text)
	} else {
		if e.HTML, err = emailTemplate("body", custom.Body, b); err != nil {
			return Email{}, err
		}
		e.Text = HTMLToText(e.HTML)
	}
	return e, nil
}

func bindings(conn *tenant.Connection, v EmailVars) liquid.Bindings {
	connName := ""
	if conn != nil {
		connName = conn.Name
	}
	return liquid.Bindings{
		"code":               v.Code,
		"password":           v.Code, // Auth0's older name for the code
		"link":               v.Link,
		"send":               v.Send,
		"application":        map[string]any{"name": v.ApplicationName},
		"connection":         map[string]any{"name": connName},
		"request_language":   nilIfEmpty(v.RequestLanguage),
		"operation":          nilIfEmpty(v.Operation),
		"email":              v.Email,
		"expires_in_minutes": v.ExpiresInMinutes,
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func isAuth0Address(from string) bool {
	from = strings.ToLower(strings.TrimSpace(from))
	from = strings.TrimSuffix(from, ">")
	return strings.HasSuffix(from, "@auth0.com")
}

var nameAddr = regexp.MustCompile(`^\s*(.*?)\s*<\s*([^<>\s]+)\s*>\s*$`)

// normalizeFrom turns a rendered from line into a valid RFC 5322 mailbox.
// Application names often hold characters that must be quoted ("Acme, Inc.
// <no-reply@acme.test>"), so a name-addr that does not parse as written is
// rebuilt from its parts.
func normalizeFrom(s string) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if a, err := mail.ParseAddress(s); err == nil {
		return a.String(), nil
	}
	if m := nameAddr.FindStringSubmatch(s); m != nil {
		if a, err := mail.ParseAddress(m[2]); err == nil {
			a.Name = strings.Trim(m[1], `" `)
			return a.String(), nil
		}
	}
	return "", fmt.Errorf("delivery: email from %q is not a valid address", s)
}

// HTMLToText derives a plain-text part from an HTML body: markup, styles
// and scripts go, block elements become line breaks, links keep their
// URLs ("Sign in <https://…>"), entities are decoded and whitespace is
// collapsed.
func HTMLToText(s string) string {
	var out strings.Builder
	var (
		inAnchor   bool
		anchorHref string
		anchorAt   int
	)
	for i := 0; i < len(s); {
		if s[i] != '<' || !looksLikeTag(s[i+1:]) {
			j := strings.IndexByte(s[i+1:], '<')
			if j < 0 {
				j = len(s)
			} else {
				j += i + 1
			}
			writeCollapsed(&out, html.UnescapeString(s[i:j]))
			i = j
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := tagEnd(s, i)
		tag := s[i+1 : end]
		i = end + 1
		closing := strings.HasPrefix(tag, "/")
		name := tagName(strings.TrimPrefix(tag, "/"))
		switch name {
		case "head", "style", "script", "title":
			if !closing {
				// Skip everything up to the matching end tag.
				k := strings.Index(strings.ToLower(s[i:]), "</"+name)
				if k < 0 {
					i = len(s)
				} else {
					i += k
				}
			}
		case "a":
			if !closing {
				inAnchor, anchorHref, anchorAt = true, attr(tag, "href"), out.Len()
			} else if inAnchor {
				inAnchor = false
				text := strings.TrimSpace(out.String()[anchorAt:])
				href := strings.TrimSpace(anchorHref)
				if href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(strings.ToLower(href), "javascript:") {
					break
				}
				switch {
				case text == "":
					out.WriteString(href)
				case !strings.Contains(text, href):
					out.WriteString(" <" + href + ">")
				}
			}
		case "br", "p", "div", "tr", "table", "tbody", "thead", "h1", "h2", "h3", "h4", "h5", "h6",
			"blockquote", "center", "section", "article", "header", "footer", "ul", "ol", "pre":
			out.WriteByte('\n')
		case "li":
			if !closing {
				out.WriteString("\n- ")
			}
		case "hr":
			out.WriteString("\n----\n")
		case "td", "th":
			out.WriteByte(' ')
		}
	}
	return tidyText(out.String())
}

// looksLikeTag reports whether the text after a '<' starts markup rather
// than being a literal less-than sign.
func looksLikeTag(rest string) bool {
	if rest == "" {
		return false
	}
	c := rest[0]
	return c == '/' || c == '!' || c == '?' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// tagEnd returns the index of the '>' closing the tag that starts at i,
// skipping quoted attribute values, or len(s).
func tagEnd(s string, i int) int {
	var quote byte
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return j
		}
	}
	return len(s)
}

func tagName(tag string) string {
	end := strings.IndexFunc(tag, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '/' || r == '>'
	})
	if end < 0 {
		end = len(tag)
	}
	return strings.ToLower(tag[:end])
}

var attrRe = regexp.MustCompile(`(?is)\s([a-z_:][-a-z0-9_:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)`)

func attr(tag, name string) string {
	for _, m := range attrRe.FindAllStringSubmatch(tag, -1) {
		if strings.EqualFold(m[1], name) {
			return html.UnescapeString(strings.Trim(m[2], `"'`))
		}
	}
	return ""
}

// writeCollapsed writes text the way a browser shows it: every run of
// white space is one space.
func writeCollapsed(b *strings.Builder, text string) {
	space := false
	for _, r := range text {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\u00a0' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
}

// tidyText trims every line and keeps at most one blank line in a row.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := true // drops leading blank lines
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}

// The default message. It is one column, inline styles only, so that it
// looks the same in every mail client; the code is large and monospaced,
// the link is a button with the URL repeated below it for clients that
// strip buttons.
const defaultHTMLTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ application.name | escape }}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f5f7;">
<tr><td align="center" style="padding:32px 16px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:520px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:32px 32px 8px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:20px;font-weight:600;color:#1f2328;">
{{ application.name | escape }}
</td></tr>
{% if send == 'link' or send == 'link_ios' or send == 'link_android' %}
<tr><td style="padding:8px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#1f2328;">
Click the button below to sign in to {{ application.name | escape }}.
</td></tr>
<tr><td align="center" style="padding:24px 32px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>
<td align="center" bgcolor="#2455c3" style="border-radius:6px;">
<a href="{{ link | escape }}" target="_blank" style="display:inline-block;padding:14px 28px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;">Sign in to {{ application.name | escape }}</a>
</td></tr></table>
</td></tr>
<tr><td style="padding:0 32px 8px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:13px;line-height:20px;color:#57606a;">
If the button does not work, copy this address into your browser:<br>
<a href="{{ link | escape }}" style="color:#2455c3;word-break:break-all;">{{ link | escape }}</a>
</td></tr>
{% if expires_in_minutes > 0 %}<tr><td style="padding:8px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:14px;line-height:20px;color:#57606a;">
This link will expire in {{ expires_in_minutes }} minute{% if expires_in_minutes != 1 %}s{% endif %} and can be used only once.
</td></tr>{% endif %}
{% elsif send == 'code' %}
<tr><td style="padding:8px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#1f2328;">
Your verification code for {{ application.name | escape }} is:
</td></tr>
<tr><td align="center" style="padding:16px 32px;">
<div style="display:inline-block;padding:12px 24px;background-color:#f4f5f7;border-radius:6px;font-family:'SFMono-Regular',Menlo,Consolas,'Liberation Mono',monospace;font-size:32px;font-weight:700;letter-spacing:6px;color:#1f2328;">{{ code | escape }}</div>
</td></tr>
{% if expires_in_minutes > 0 %}<tr><td style="padding:8px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:14px;line-height:20px;color:#57606a;">
This code will expire in {{ expires_in_minutes }} minute{% if expires_in_minutes != 1 %}s{% endif %} and can be used only once.
</td></tr>{% endif %}
{% endif %}
<tr><td style="padding:16px 32px 32px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:13px;line-height:20px;color:#57606a;">
If you did not ask to sign in, you can ignore this email.
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`

const defaultTextTemplate = `{% if send == 'link' or send == 'link_ios' or send == 'link_android' %}
Sign in to {{ application.name }} by opening this link:

{{ link }}
{% if expires_in_minutes > 0 %}
This link will expire in {{ expires_in_minutes }} minute{% if expires_in_minutes != 1 %}s{% endif %} and can be used only once.
{% endif %}
{% elsif send == 'code' %}
Your verification code for {{ application.name }} is:

{{ code }}
{% if expires_in_minutes > 0 %}
This code will expire in {{ expires_in_minutes }} minute{% if expires_in_minutes != 1 %}s{% endif %} and can be used only once.
{% endif %}
{% endif %}
If you did not ask to sign in, you can ignore this email.
`
