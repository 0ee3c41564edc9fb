package e2e

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/sesame-id/sesame/internal/smstest"
)

// startSMS asks for a code on an sms connection through the public native
// client, as the SDKs do: no send.
func (e *env) startSMS(conn, phone string, mods ...func(*http.Request)) response {
	e.t.Helper()
	return e.postJSON("/passwordless/start", map[string]any{
		"client_id": nativeClientID, "connection": conn, "phone_number": phone,
	}, mods...)
}

// smsOTP exchanges a code of an sms connection at /oauth/token.
func (e *env) smsOTP(clientID, conn, phone, code, scope string) response {
	e.t.Helper()
	return e.otp(clientID, phone, code, scope, "realm", conn)
}

func header(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

var objectIDRE = regexp.MustCompile(`^[0-9a-f]{24}$`)

// wantSMSStarted checks Auth0's sms start answer, exactly
// {_id, phone_number, phone_verified: false, request_language}.
func wantSMSStarted(t *testing.T, r response, phone string, language any) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	keys := make([]string, 0, len(r.JSON))
	for k := range r.JSON {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"_id", "phone_number", "phone_verified", "request_language"}) ||
		!objectIDRE.MatchString(r.str("_id")) || r.str("phone_number") != phone ||
		r.JSON["phone_verified"] != false || r.JSON["request_language"] != language {
		t.Fatalf("start body = %s, want {_id, phone_number: %q, phone_verified: false, request_language: %v}", r.Body, phone, language)
	}
}

func TestSMS_LoginThroughTwilioEndToEnd(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	ctx := oidc.ClientContext(context.Background(), e.HTTP)
	const phone = "+16502530101"

	// The confidential web app, with its secret; no send: the SDKs send none.
	res := e.postJSON("/passwordless/start", map[string]any{
		"client_id": webClientID, "client_secret": webSecret, "connection": "sms", "phone_number": phone,
	})
	wantSMSStarted(t, res, phone, nil)
	if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	msgs := tw.messages()
	if len(msgs) != 1 {
		t.Fatalf("twilio received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	body := regexp.MustCompile(`^Web App code: (\d{6})$`).FindStringSubmatch(m.Get("Body"))
	if m.Get("To") != phone || m.Get("From") != "+16502530000" || m.Has("MessagingServiceSid") || body == nil {
		t.Fatalf("twilio received %v, want To %s, From +16502530000 and the md_with_macros template", m, phone)
	}
	code := body[1]
	wantCleanLog(t, e, code)

	tok := e.smsOTP(webClientID, "sms", phone, code, "openid profile phone")
	if tok.Status != 200 || tok.str("id_token") == "" || tok.str("access_token") == "" {
		t.Fatalf("token: %d %s", tok.Status, tok.Body)
	}
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: webClientID}).Verify(ctx, tok.str("id_token"))
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^sms\|[0-9a-f]{24}$`).MatchString(idt.Subject) {
		t.Errorf("sub = %q, want sms|<24 hex>", idt.Subject)
	}
	if claims["phone_number"] != phone || claims["phone_number_verified"] != true || claims["name"] != phone {
		t.Errorf("ID token claims = %v", claims)
	}
	if _, ok := claims["email"]; ok {
		t.Errorf("an sms user's ID token has an email: %v", claims)
	}

	ui := e.get("/userinfo", bearer(tok.str("access_token")))
	if ui.Status != 200 || ui.str("sub") != idt.Subject || ui.str("phone_number") != phone ||
		ui.JSON["phone_number_verified"] != true || ui.str("name") != phone {
		t.Fatalf("userinfo: %d %s", ui.Status, ui.Body)
	}

	// The code is used up; a second login finds the same user.
	wantError(t, e.smsOTP(webClientID, "sms", phone, code, "openid"), 403, "invalid_grant", "Wrong phone number or verification code.")
	wantSMSStarted(t, e.postJSON("/passwordless/start", map[string]any{
		"client_id": webClientID, "client_secret": webSecret, "connection": "sms", "phone_number": phone,
	}), phone, nil)
	again := e.smsOTP(webClientID, "sms", phone, tw.lastCode(t), "openid")
	if again.Status != 200 {
		t.Fatalf("second login: %d %s", again.Status, again.Body)
	}
	if sub := jwtClaims(t, again.str("id_token"))["sub"]; sub != idt.Subject {
		t.Errorf("second login sub = %v, want %s", sub, idt.Subject)
	}
}

func TestSMS_StartAnswersTheRequestLanguage(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	for _, c := range []struct {
		name, phone string
		headers     map[string]string
		want        any
	}{
		{"no language header", "+16502530111", nil, nil},
		{"x-request-language", "+16502530112", map[string]string{"x-request-language": "fr"}, "fr"},
		{"Accept-Language", "+16502530113", map[string]string{"Accept-Language": "de-DE,de;q=0.9"}, "de-DE"},
		{"x-request-language before Accept-Language", "+16502530114", map[string]string{"x-request-language": "fr", "Accept-Language": "de-DE,de;q=0.9"}, "fr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mods []func(*http.Request)
			for k, v := range c.headers {
				mods = append(mods, header(k, v))
			}
			wantSMSStarted(t, e.startSMS("sms", c.phone, mods...), c.phone, c.want)
		})
	}
}

func TestSMS_MessagingServiceSendsWithoutFrom(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	const phone = "+16502530121"
	wantSMSStarted(t, e.startSMS("sms-msvc", phone), phone, nil)
	msgs := tw.messages()
	if len(msgs) != 1 {
		t.Fatalf("twilio received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Get("To") != phone || m.Get("MessagingServiceSid") != messagingSID || m.Has("From") ||
		!regexp.MustCompile(`^Your verification code is: \d{6}$`).MatchString(m.Get("Body")) {
		t.Fatalf("twilio received %v, want To, MessagingServiceSid, no From, Auth0's default template", m)
	}
	if r := e.smsOTP(nativeClientID, "sms-msvc", phone, tw.lastCode(t), "openid"); r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
}

func TestSMS_GatewayGetsASignedMessageWithTheCallersRequest(t *testing.T) {
	gw := startFakeGateway(t)
	e := newEnv(t, envOptions{gatewayURL: gw.URL})
	const phone, ua = "+16502530131", "Mozilla/5.0 (sesame e2e) SMSTest/1.0"
	wantSMSStarted(t, e.startSMS("sms-gateway", phone, header("User-Agent", ua)), phone, nil)
	msgs := gw.messages()
	if len(msgs) != 1 {
		t.Fatalf("the gateway received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	body := regexp.MustCompile(`^(\d{6}) is your code for Native App$`).FindStringSubmatch(m.Body)
	if m.Recipient != phone || m.Sender != "Sesame" || body == nil {
		t.Fatalf("the gateway received %+v, want recipient %s, sender Sesame and the liquid template", m, phone)
	}
	if m.Req == nil || m.Req.IP != "127.0.0.1" || m.Req.UserAgent != ua {
		t.Fatalf("forward_req_info: req = %+v, want ip 127.0.0.1 and user-agent %q", m.Req, ua)
	}
	if r := e.smsOTP(nativeClientID, "sms-gateway", phone, body[1], "openid"); r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	wantCleanLog(t, e, body[1])
}

func TestSMS_DevelopmentDeliveryWritesTheCodeToTheLog(t *testing.T) {
	e := newEnv(t, envOptions{})
	const phone = "+16502530141"
	wantSMSStarted(t, e.startSMS("sms-dev", phone), phone, nil)
	var line string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "DEVELOPMENT DELIVERY (no SMS provider configured)") && strings.Contains(l, phone) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no labelled development delivery line for %s in the log:\n%s", phone, e.logs)
	}
	m := regexp.MustCompile(`Your verification code is: (\d{6})`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no code in the development delivery line %q", line)
	}
	if r := e.smsOTP(nativeClientID, "sms-dev", phone, m[1], "openid"); r.Status != 200 {
		t.Fatalf("token with the logged code: %d %s", r.Status, r.Body)
	}
}

// TestSMS_ProviderErrorsReachTheCallerAndChangeNothing: the SMS is sent
// within the request, so the provider's failure is the answer; the code of
// the failed message never becomes live, and the earlier one stays live.
func TestSMS_ProviderErrorsReachTheCallerAndChangeNothing(t *testing.T) {
	for _, c := range []struct {
		name, conn string
		fail       func(*fakeTwilio, *fakeGateway)
		desc       string // "": any description
	}{
		{"twilio 21211", "sms", func(tw *fakeTwilio, _ *fakeGateway) {
			tw.answer(func(w http.ResponseWriter) {
				smstest.WriteError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number")
			})
		}, "Invalid 'To' Phone Number (Code: 21211)"},
		{"twilio 500", "sms", func(tw *fakeTwilio, _ *fakeGateway) {
			tw.answer(func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
		}, ""},
		{"gateway 401", "sms-gateway", func(_ *fakeTwilio, gw *fakeGateway) {
			gw.answer(http.StatusUnauthorized, 0)
		}, "Authentication failed while calling the SMS gateway: 401"},
		{"gateway 500", "sms-gateway", func(_ *fakeTwilio, gw *fakeGateway) {
			gw.answer(http.StatusInternalServerError, 0)
		}, "Unexpected response while calling the SMS gateway: 500"},
		{"gateway timeout", "sms-gateway", func(_ *fakeTwilio, gw *fakeGateway) {
			gw.answer(0, 10*time.Second)
		}, "Timeout while calling the SMS gateway: ETIMEDOUT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tw, gw := startFakeTwilio(t), startFakeGateway(t)
			e := newEnv(t, envOptions{twilioURL: tw.URL, gatewayURL: gw.URL, gatewayTimeout: 300 * time.Millisecond})
			const phone = "+16502530151"
			lastCode := func() string {
				if c.conn == "sms" {
					return tw.lastCode(t)
				}
				return gw.lastCode(t)
			}

			wantSMSStarted(t, e.startSMS(c.conn, phone), phone, nil)
			live := lastCode()

			c.fail(tw, gw)
			began := time.Now()
			r := e.startSMS(c.conn, phone)
			wantError(t, r, 400, "sms_provider_error", c.desc)
			if r.str("error_description") == "" {
				t.Errorf("sms_provider_error without a description: %s", r.Body)
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("the failed start took %v", took)
			}
			for _, secret := range []string{twilioToken, gatewaySecret} {
				if strings.Contains(string(r.Body), secret) {
					t.Errorf("the error leaks a provider secret: %s", r.Body)
				}
			}
			if n := len(tw.messages()) + len(gw.messages()); n != 2 {
				t.Fatalf("the providers received %d messages, want 2", n)
			}

			// The code of the refused message never became live...
			if refused := lastCode(); refused != live {
				wantError(t, e.smsOTP(nativeClientID, c.conn, phone, refused, "openid"), 403, "invalid_grant", "Wrong phone number or verification code.")
			}
			// ...and the earlier code was not invalidated.
			if ok := e.smsOTP(nativeClientID, c.conn, phone, live, "openid"); ok.Status != 200 {
				t.Fatalf("the earlier code after a failed send: %d %s", ok.Status, ok.Body)
			}
		})
	}
}

func TestSMS_StartRefusesBadPhoneNumbers(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	const pattern = `String does not match pattern: ^\+[0-9]{1,15}$`
	for _, c := range []struct {
		name  string
		phone any // nil: no phone_number property
		desc  string
	}{
		{"missing", nil, "Missing required property: phone_number"},
		{"without the plus", "16502530000", pattern},
		{"with spaces", "+1 650 253 0000", pattern},
		{"with dashes", "+1-650-253-0000", pattern},
		{"longer than E.164", "+1650253000012345", pattern},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"client_id": nativeClientID, "connection": "sms"}
			if c.phone != nil {
				body["phone_number"] = c.phone
			}
			wantError(t, e.postJSON("/passwordless/start", body), 400, "bad.phone_number", c.desc)
		})
	}
	// Numbers that match Auth0's pattern but cannot exist are refused with
	// a description of their own that names the number.
	for _, phone := range []string{"+15550100123", "+1650253000", "+9991234567"} {
		t.Run(phone, func(t *testing.T) {
			r := e.startSMS("sms", phone)
			wantError(t, r, 400, "bad.phone_number", "")
			if d := r.str("error_description"); d == pattern || !strings.Contains(d, phone) {
				t.Errorf("description %q does not say what is wrong with %s", d, phone)
			}
		})
	}
	if n := len(tw.messages()); n != 0 {
		t.Errorf("twilio received %d messages for bad numbers", n)
	}
}

func TestSMS_SendMeansCode(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	for i, send := range []any{nil, "code"} {
		phone := []string{"+16502530161", "+16502530162"}[i]
		body := map[string]any{"client_id": nativeClientID, "connection": "sms", "phone_number": phone}
		if send != nil {
			body["send"] = send
		}
		wantSMSStarted(t, e.postJSON("/passwordless/start", body), phone, nil)
		if r := e.smsOTP(nativeClientID, "sms", phone, tw.lastCode(t), "openid"); r.Status != 200 {
			t.Fatalf("send %v: token: %d %s", send, r.Status, r.Body)
		}
	}
	sent := len(tw.messages())
	for _, send := range []string{"link", "link_ios", "link_android"} {
		r := e.postJSON("/passwordless/start", map[string]any{
			"client_id": nativeClientID, "connection": "sms", "phone_number": "+16502530163", "send": send,
		})
		wantError(t, r, 400, "bad.send", "")
		if r.str("error_description") == "" {
			t.Errorf("send %s: bad.send without a description", send)
		}
	}
	if n := len(tw.messages()); n != sent {
		t.Errorf("twilio received %d messages for refused sends", n-sent)
	}
}

func TestSMS_WrongCodeIsRefusedWithAuth0sText(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	const phone = "+16502530171"
	wantSMSStarted(t, e.startSMS("sms", phone), phone, nil)
	code := tw.lastCode(t)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantError(t, e.smsOTP(nativeClientID, "sms", phone, wrong, "openid"), 403, "invalid_grant", "Wrong phone number or verification code.")
	wantError(t, e.smsOTP(nativeClientID, "sms", "+16502530172", code, "openid"), 403, "invalid_grant", "Wrong phone number or verification code.")
	if r := e.smsOTP(nativeClientID, "sms", phone, code, "openid"); r.Status != 200 {
		t.Fatalf("the right code after a wrong one: %d %s", r.Status, r.Body)
	}
	// The tenant log: cs for the SMS, fepotpft with the SMS text for the
	// wrong ones, ss and s for the login, all for the number on sms.
	if ev := e.events("cs"); len(ev) != 1 || ev[0].Identifier != phone || ev[0].Connection != "sms" || ev[0].ClientID != nativeClientID {
		t.Errorf("cs events = %+v", ev)
	}
	fails := e.events("fepotpft")
	if len(fails) != 2 || fails[0].Description != "Wrong phone number or verification code." || fails[0].Connection != "sms" {
		t.Errorf("fepotpft events = %+v", fails)
	}
	for _, typ := range []string{"ss", "s"} {
		if ev := e.events(typ); len(ev) != 1 || ev[0].Identifier != phone || !strings.HasPrefix(ev[0].UserID, "sms|") {
			t.Errorf("%s events = %+v", typ, ev)
		}
	}
}

// One person with an email address and a phone number has two users, as
// with Auth0: the connections do not link accounts.
func TestSMS_EmailAndSMSUsersAreSeparate(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	const phone = "+16502530181"
	emailTok := e.otp(nativeClientID, "pat@example.com", e.startCode(nativeClientID, "pat@example.com"), "openid profile email phone")
	wantSMSStarted(t, e.startSMS("sms", phone), phone, nil)
	smsTok := e.smsOTP(nativeClientID, "sms", phone, tw.lastCode(t), "openid profile email phone")
	if emailTok.Status != 200 || smsTok.Status != 200 {
		t.Fatalf("logins: %d %s / %d %s", emailTok.Status, emailTok.Body, smsTok.Status, smsTok.Body)
	}
	ec, sc := jwtClaims(t, emailTok.str("id_token")), jwtClaims(t, smsTok.str("id_token"))
	es, _ := ec["sub"].(string)
	ss, _ := sc["sub"].(string)
	if !strings.HasPrefix(es, "email|") || !strings.HasPrefix(ss, "sms|") || es[len("email|"):] == ss[len("sms|"):] {
		t.Errorf("subs %q and %q, want two different users", es, ss)
	}
	if _, ok := ec["phone_number"]; ok {
		t.Errorf("the email user has a phone number: %v", ec)
	}
	if _, ok := sc["email"]; ok {
		t.Errorf("the sms user has an email: %v", sc)
	}
}

func TestSMS_VerifyChecksAPhoneNumbersCode(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	const phone = "+16502530191"
	wantSMSStarted(t, e.startSMS("sms", phone), phone, nil)
	code := tw.lastCode(t)
	body := func(code string) map[string]any {
		return map[string]any{"client_id": nativeClientID, "connection": "sms", "phone_number": phone, "verification_code": code}
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantError(t, e.postJSON("/passwordless/verify", body(wrong)), 401, "invalid_user_password", "")
	if r := e.postJSON("/passwordless/verify", body(code)); r.Status != 200 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	if r := e.smsOTP(nativeClientID, "sms", phone, code, "openid"); r.Status != 200 {
		t.Fatalf("token after verify: %d %s", r.Status, r.Body)
	}
}

func TestSMS_DisableSignupSendsNothingToUnknownNumbers(t *testing.T) {
	tw := startFakeTwilio(t)
	e := newEnv(t, envOptions{twilioURL: tw.URL})
	const phone = "+16502530192"
	// The answer is the one a known number gets, so it reveals nothing.
	wantSMSStarted(t, e.startSMS("sms-closed", phone), phone, nil)
	if n := len(tw.messages()); n != 0 {
		t.Fatalf("twilio received %d messages for an unknown number with signup disabled", n)
	}
}
