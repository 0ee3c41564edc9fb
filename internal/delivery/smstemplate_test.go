package delivery

import (
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/tenant"
)

func TestRenderSMS(t *testing.T) {
	v := SMSVars{Code: "123456", ApplicationName: "Acme", PhoneNumber: "+16502530000", RequestLanguage: "fr-FR"}
	tests := []struct {
		name             string
		syntax, template string
		vars             SMSVars
		want             string
	}{
		{name: "default syntax and template", want: "Your verification code is: 123456"},
		{name: "default template, md_with_macros", syntax: "md_with_macros", want: "Your verification code is: 123456"},
		{name: "default template, liquid", syntax: "liquid", want: "Your verification code is: 123456"},
		{name: "blank template counts as none", template: " \n", want: "Your verification code is: 123456"},

		{name: "macros: every name", template: "@@password@@/@@code@@ for @@application.name@@ to @@phone_number@@ in @@request_language@@",
			want: "123456/123456 for Acme to +16502530000 in fr-FR"},
		{name: "macros: spaces inside the @@", template: "Code: @@ password @@", want: "Code: 123456"},
		{name: "macros: unknown names stay as written", template: "@@password@@ @@user.name@@ @@", want: "123456 @@user.name@@ @@"},
		{name: "macros: liquid is not interpreted", template: "{{ code }} @@code@@", want: "{{ code }} 123456"},
		{name: "macros: values are not expanded again", template: "@@application.name@@ @@code@@",
			vars: SMSVars{Code: "42", ApplicationName: "@@code@@"}, want: "@@code@@ 42"},
		{name: "macros: no language is empty", template: "[@@request_language@@]", vars: SMSVars{Code: "1"}, want: "[]"},

		{name: "liquid: every name", syntax: "liquid",
			template: "{{ password }}/{{ code }} for {{ application.name }} to {{ phone_number }} in {{ request_language }}",
			want:     "123456/123456 for Acme to +16502530000 in fr-FR"},
		{name: "liquid: Auth0's language example", syntax: "liquid",
			template: "{% if request_language contains 'dutch' %}\n   Hier is uw verificatie code: {{ password }}\n{% endif %}\n{% if request_language contains 'fr-FR' %}\n   Ceci est votre code: {{ password }}\n{% endif %}\n",
			want:     "Ceci est votre code: 123456"},
		{name: "liquid: no language is nil", syntax: "liquid",
			template: "{% if request_language %}lang{% else %}none{% endif %} {{ code }}", vars: SMSVars{Code: "1"}, want: "none 1"},
		{name: "liquid: macros are not interpreted", syntax: "liquid", template: "@@code@@ {{ code }}", want: "@@code@@ 123456"},
		{name: "trailing newline of a heredoc template is trimmed", template: "Your code: @@password@@\n", want: "Your code: 123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := v
			if tt.vars != (SMSVars{}) {
				vars = tt.vars
			}
			got, err := RenderSMS(tenant.ConnectionOptions{Syntax: tt.syntax, Template: tt.template}, vars)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Fatalf("RenderSMS = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderSMS_Errors(t *testing.T) {
	tests := []struct {
		name             string
		syntax, template string
		want             string
	}{
		{name: "unknown syntax", syntax: "handlebars", template: "{{code}}", want: "unknown template syntax"},
		{name: "liquid that does not parse", syntax: "liquid", template: "{% if code %}no end", want: "sms template"},
		{name: "include is disabled", syntax: "liquid", template: "{% include '/etc/passwd' %}", want: "include"},
		{name: "renders to nothing", syntax: "liquid", template: "{% if request_language == 'de' %}{{ code }}{% endif %}", want: "empty message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderSMS(tenant.ConnectionOptions{Syntax: tt.syntax, Template: tt.template}, SMSVars{Code: "123456"})
			if err == nil {
				t.Fatalf("RenderSMS = %q, want an error containing %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("RenderSMS error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
