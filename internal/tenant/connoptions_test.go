package tenant

import (
	"strings"
	"testing"
)

// TestValidateConnection_UnsupportedOptionsAreRefusedUnlessHarmless: an
// option of the email or sms strategy that Sesame does not act on is an
// error that names it and says why, except at its zero value or the
// default Auth0's exports carry, which ask for nothing.
func TestValidateConnection_UnsupportedOptionsAreRefusedUnlessHarmless(t *testing.T) {
	tests := []struct {
		name    string
		conn    string
		problem string // "" when accepted
	}{
		{"email set_user_root_attributes default", `{"name":"e","strategy":"email","options":{"set_user_root_attributes":"on_each_login"}}`, ""},
		{"email set_user_root_attributes other", `{"name":"e","strategy":"email","options":{"set_user_root_attributes":"on_first_login"}}`,
			`field "options.set_user_root_attributes": not supported: a passwordless user's root attributes come from no upstream identity provider; only on_each_login (Auth0's default) is accepted`},
		{"email non_persistent_attrs empty", `{"name":"e","strategy":"email","options":{"non_persistent_attrs":[]}}`, ""},
		{"email non_persistent_attrs", `{"name":"e","strategy":"email","options":{"non_persistent_attrs":["ethnicity"]}}`,
			`field "options.non_persistent_attrs": not supported: Sesame stores no attributes from an upstream identity provider`},
		{"email upstream_params empty", `{"name":"e","strategy":"email","options":{"upstream_params":{}}}`, ""},
		{"email upstream_params", `{"name":"e","strategy":"email","options":{"upstream_params":{"screen_name":{"alias":"login_hint"}}}}`,
			`field "options.upstream_params": not supported: Sesame has no upstream identity provider`},
		{"sms upstream_params", `{"name":"s","strategy":"sms","options":{"upstream_params":{"a":{"value":"b"}}}}`,
			`field "options.upstream_params": not supported`},
		{"sms non_persistent_attrs", `{"name":"s","strategy":"sms","options":{"non_persistent_attrs":["x"]}}`,
			`field "options.non_persistent_attrs": not supported`},
		{"sms authParams empty", `{"name":"s","strategy":"sms","options":{"authParams":{}}}`, ""},
		{"sms authParams", `{"name":"s","strategy":"sms","options":{"authParams":{"scope":"openid"}}}`,
			`field "options.authParams": not supported: sms connections send codes only`},
		{"email authParams", `{"name":"e","strategy":"email","options":{"authParams":{"scope":"openid"}}}`, ""},
		{"domain connection false", `{"name":"e","strategy":"email","is_domain_connection":false}`, ""},
		{"domain connection", `{"name":"e","strategy":"email","is_domain_connection":true}`,
			`field "is_domain_connection": not supported: Sesame enables a connection for its enabled_clients only`},
		{"show_as_button", `{"name":"e","strategy":"email","show_as_button":true}`, `field "show_as_button": not supported`},
		{"authentication active", `{"name":"e","strategy":"email","authentication":{"active":true}}`, ""},
		{"authentication inactive", `{"name":"e","strategy":"email","authentication":{"active":false}}`,
			`field "authentication": not supported: a passwordless connection always serves logins`},
		{"connected_accounts inactive", `{"name":"s","strategy":"sms","connected_accounts":{"active":false}}`, ""},
		{"connected_accounts active", `{"name":"s","strategy":"sms","connected_accounts":{"active":true}}`,
			`field "connected_accounts": not supported: Sesame has no connected accounts`},
		{"realms the name", `{"name":"e","strategy":"email","realms":["e"]}`, ""},
		{"realms other", `{"name":"e","strategy":"email","realms":["other"]}`,
			`field "realms": not supported: a passwordless connection's only realm is its name; only ["e"] is accepted`},
		{"sms provider", `{"name":"s","strategy":"sms","options":{"provider":"vonage"}}`,
			`field "options.provider": want twilio or sms_gateway, got "vonage"`},
		{"gateway method", `{"name":"s","strategy":"sms","options":{"provider":"sms_gateway","gateway_url":"https://g.example.com/","gateway_authentication":{"method":"basic","secret":"x"}}}`,
			`field "options.gateway_authentication.method": not supported: the gateway gets a bearer JWT`},
		{"options.strategy sms", `{"name":"s","strategy":"sms","options":{"strategy":"sms"}}`, ""},
		{"options.strategy other", `{"name":"s","strategy":"sms","options":{"strategy":"email"}}`,
			`field "options.strategy": the connection's strategy is sms, got "email"`},
		{"provider_timeout", `{"name":"s","strategy":"sms","options":{"sesame":{"provider_timeout":5}}}`, ""},
		{"provider_timeout too long", `{"name":"s","strategy":"sms","options":{"sesame":{"provider_timeout":31}}}`,
			`field "options.sesame.provider_timeout": want 1 to 30 seconds, got 31`},
		{"provider_timeout on email", `{"name":"e","strategy":"email","options":{"sesame":{"provider_timeout":5}}}`,
			`unknown field "options.sesame.provider_timeout"`},
		// Other strategies are ignored whole, with a warning: their
		// fields are not Sesame's to refuse.
		{"google button", `{"name":"g","strategy":"google-oauth2","show_as_button":true,"is_domain_connection":true}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ValidateConnection(body(t, tt.conn))
			switch {
			case tt.problem == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
				t.Errorf("error %v, want %q", err, tt.problem)
			}
		})
	}
}

// TestParseFile_CaptchaOnPasswordlessIsRefused: a tenant whose bot
// detection would challenge passwordless logins cannot be served as it
// asks, since Sesame has no CAPTCHA provider; "never" (Auth0's default,
// in every export) loads.
func TestParseFile_CaptchaOnPasswordlessIsRefused(t *testing.T) {
	for policy, refused := range map[string]bool{"never": false, "when_risky": true, "always": true} {
		_, _, err := parse(t, `
attackProtection:
  botDetection:
    bot_detection_level: medium
    challenge_passwordless_policy: `+policy+`
  captcha:
    active_provider_id: auth_challenge`, nil)
		want := `tenant.yaml: attackProtection: field "botDetection.challenge_passwordless_policy": not supported: Sesame has no bot detection and no CAPTCHA provider, so it cannot challenge passwordless logins; only never (Auth0's default) is accepted, got "` + policy + `"`
		switch {
		case refused && (err == nil || err.Error() != want):
			t.Errorf("%s: error %v, want\n%s", policy, err, want)
		case !refused && err != nil:
			t.Errorf("%s: %v", policy, err)
		}
	}
}

// TestLoadFile_ExportWithAuth0sDefaultsLoads: the realistic a0deploy export
// in testdata carries the options Auth0 sets by default (realms,
// authentication, connected_accounts, non_persistent_attrs, the strategy in
// sms options, bot detection that never challenges); they load without an
// error or a warning of their own.
func TestLoadFile_ExportWithAuth0sDefaultsLoads(t *testing.T) {
	_, warnings := mustLoad(t, "testdata/export/tenant.yaml", exportEnv)
	for _, w := range warnings {
		for _, field := range []string{"realms", "authentication", "connected_accounts", "non_persistent_attrs", "strategy\"", "botDetection"} {
			if strings.Contains(w, field) {
				t.Errorf("warning about a default Auth0 exports: %q", w)
			}
		}
	}
}
