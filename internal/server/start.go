package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
	"github.com/sesame-id/sesame/internal/ratelimit"
	"github.com/sesame-id/sesame/internal/sms"
	"github.com/sesame-id/sesame/internal/store"
	"github.com/sesame-id/sesame/internal/tenant"
)

// startFields are the properties /passwordless/start accepts (spec §1.1).
var startFields = []string{
	"client_id", "client_secret", "client_assertion", "client_assertion_type",
	"connection", "email", "phone_number", "send", "authParams", "captcha",
}

// sendValues are the accepted values of "send".
var sendValues = []string{"link", "code", "link_ios", "link_android"}

// startRequest is the decoded body of /passwordless/start.
type startRequest struct {
	ClientID            string
	ClientSecret        string
	ClientAssertion     string
	ClientAssertionType string
	Connection          string
	Email               string
	PhoneNumber         string
	Send                string
	AuthParams          map[string]any
	Captcha             string
}

// decodeStart validates the shape of a start body (spec §1.3): unknown
// properties, types, and the required client_id and connection.
func decodeStart(raw map[string]json.RawMessage) (startRequest, error) {
	var unknown []string
	for k := range raw {
		if !slices.Contains(startFields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return startRequest{}, startError("bad.request", "the following properties are not allowed: "+strings.Join(unknown, ", "))
	}
	var req startRequest
	str := func(name string, dst *string) error {
		v, ok := raw[name]
		if !ok || jsonType(v) == "null" {
			return nil
		}
		if jsonType(v) != "string" {
			code := "bad.request"
			switch name {
			case "client_id", "connection", "email", "phone_number", "send":
				code = "bad." + name
			}
			return startError(code, "error in "+name+" - invalid type: "+jsonType(v)+" (expected string)")
		}
		return json.Unmarshal(v, dst)
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"client_id", &req.ClientID}, {"client_secret", &req.ClientSecret},
		{"client_assertion", &req.ClientAssertion}, {"client_assertion_type", &req.ClientAssertionType},
		{"connection", &req.Connection}, {"email", &req.Email}, {"phone_number", &req.PhoneNumber},
		{"send", &req.Send}, {"captcha", &req.Captcha},
	} {
		if err := str(f.name, f.dst); err != nil {
			return startRequest{}, err
		}
	}
	if v, ok := raw["authParams"]; ok && jsonType(v) != "null" {
		if jsonType(v) != "object" {
			return startRequest{}, startError("bad.authParams", "error in authParams - invalid type: "+jsonType(v)+" (expected object)")
		}
		if err := json.Unmarshal(v, &req.AuthParams); err != nil {
			return startRequest{}, startError("bad.authParams", "error in authParams - invalid object")
		}
	}
	if req.ClientID == "" {
		return startRequest{}, startError("bad.client_id", "Missing required property: client_id")
	}
	if req.Connection == "" {
		return startRequest{}, startError("bad.connection", "Missing required property: connection")
	}
	if req.Captcha != "" {
		// auth0.js sends one only after /passwordless/challenge asked for
		// it, which Sesame never does: an answer to a challenge that was
		// never set cannot be checked, and is not quietly dropped.
		return startRequest{}, startError("bad.request", "captcha is not supported: Sesame has no bot detection (no CAPTCHA provider) and never asks for one; send no captcha")
	}
	return req, nil
}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	raw, err := readJSONObject(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decodeStart(raw)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.corsFor(w, r, req.ClientID)
	t := s.Tenant()
	client := t.Client(req.ClientID)
	if client == nil {
		s.writeError(w, r, startError("bad.client_id", "Unknown client: "+truncate(req.ClientID, 64)))
		return
	}
	if req.ClientAssertion != "" || req.ClientAssertionType != "" || client.TokenEndpointAuthMethod == tenant.AuthPrivateKeyJWT {
		s.writeError(w, r, &oauth.Error{Kind: fault.Unauthenticated, Code: "unauthorized_client", Description: "private_key_jwt client authentication is not supported yet"})
		return
	}
	cred := readClientCredentials(r, req.ClientID, req.ClientSecret)
	if cred.Both {
		s.writeError(w, r, startError("bad.request", "use only one client authentication method: client_secret in the body or HTTP Basic"))
		return
	}
	outcome := checkSecret(client, cred)

	// Every start counts against the end user's address, whatever it asks
	// for: the bucket never depends on whether the identifier is a user. A
	// start that fails, client authentication included, takes its token on
	// its own (auth0-forwarded-for is honoured only with the right secret,
	// so secrets cannot be guessed faster than codes are asked for); one
	// that goes through takes it with the recipient's, in the transaction
	// that stores its code: one commit for a whole email start.
	ip := s.endUserIP(r, client, outcome == secretOK)
	startIP := store.Take{Key: ratelimit.StartIPKey(ip), Limit: s.limits().StartPerIP}
	fail := func(err error) {
		if unavailable(r, err) {
			// Nothing more is asked of a database that does not answer.
			s.writeError(w, r, err)
			return
		}
		if s.allow(w, r, startIP.Key, startIP.Limit, ip, client.ClientID, jsonLimited) {
			s.writeError(w, r, err)
		}
	}
	switch outcome {
	case secretMissing:
		fail(&oauth.Error{Kind: fault.Unauthenticated, Code: "unauthorized_client", Description: "Client authentication is required"})
		return
	case secretWrong:
		fail(&oauth.Error{Kind: fault.Unauthenticated, Code: "unauthorized_client", Description: "Invalid client credentials"})
		return
	}

	annotate(r, client.ClientID, req.Connection)
	conn := t.Connection(req.Connection)
	switch {
	case conn == nil:
		fail(startError("bad.connection", "Connection does not exist"))
		return
	case conn.Strategy != "email" && conn.Strategy != "sms":
		fail(startError("bad.connection", "Invalid connection strategy. It must either be a passwordless connection"))
		return
	case !conn.EnabledFor(client.ClientID):
		fail(startError("bad.connection", "Connection is disabled"))
		return
	}
	if conn.Strategy == "sms" {
		s.startSMS(w, r, client, conn, req, ip, startIP, fail)
		return
	}

	// Canonicalised once, here: the link, the rate limit, the stored code
	// and the message all use this one identifier.
	email, err := passwordless.CanonicalEmail(req.Email)
	if err != nil {
		fail(passwordless.BadEmail(err))
		return
	}
	send := req.Send
	if send == "" {
		send = "link" // Auth0's default (spec §1.1)
	}
	if !slices.Contains(sendValues, send) {
		fail(startError("bad.send", "No enum match for: "+truncate(send, 64)))
		return
	}
	var link url.Values
	if passwordless.IsWebLink(send) {
		if link, err = s.linkParams(t, client, conn, email, req.AuthParams); err != nil {
			fail(err)
			return
		}
	}
	if _, err := passwordless.AppLinkPath(send, client, conn); err != nil {
		fail(err) // link_ios, link_android: the client names no app
		return
	}

	takes := s.takes(startIP, store.Take{Key: ratelimit.RecipientKey(conn.Name, ratelimit.Mailbox(email)), Limit: s.limits().PerRecipient},
		store.Take{Key: ratelimit.RecipientDayKey(conn.Name, ratelimit.Mailbox(email)), Limit: s.limits().RecipientPerDay})
	res, err := s.Passwordless.Start(r.Context(), passwordless.StartRequest{
		Client:          client,
		Connection:      conn,
		EmailProvider:   t.EmailProvider,
		Email:           email,
		Send:            send,
		AuthParams:      req.AuthParams,
		RequestLanguage: requestLanguage(r),
		LinkParams:      link,
		IP:              ip,
		UserAgent:       userAgent(r),
		Takes:           takes,
	})
	if !s.taken(w, r, takes, res.Buckets, err, ip, client.ClientID, jsonLimited) {
		return
	}
	if err != nil {
		fail(err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"_id": res.ID, "email": res.Email, "email_verified": false})
}

// startSMS is /passwordless/start on an sms connection: codes only, sent
// within the request.
func (s *Server) startSMS(w http.ResponseWriter, r *http.Request, client *tenant.Client, conn *tenant.Connection, req startRequest, ip string, startIP store.Take, fail func(error)) {
	phone, dest, perr := sms.ParsePhone(req.PhoneNumber)
	if perr != nil {
		fail(startError(perr.Code, perr.Description))
		return
	}
	switch req.Send {
	case "", "code": // the SDKs send none for sms; it means code here
	default:
		if slices.Contains(sendValues, req.Send) {
			fail(startError("bad.send", "SMS connections send codes only: send must be \"code\""))
		} else {
			fail(startError("bad.send", "No enum match for: "+truncate(req.Send, 64)))
		}
		return
	}
	// SMS pumping: premium and unknown lines are refused, the operator's
	// country allow-list applies, and each country has its own hourly cap.
	if dest.Premium || dest.Unknown {
		fail(startError("bad.phone_number", "Invalid phone number: "+phone+" is a premium-rate or unknown kind of line"))
		return
	}
	if !sms.CallingCodeAllowed(conn.Options.AllowedCountryCodes(), dest.CallingCode) {
		fail(startError("bad.phone_number", fmt.Sprintf("Phone numbers with country calling code +%d are not allowed for this connection", dest.CallingCode)))
		return
	}
	lang := requestLanguage(r)
	takes := s.takes(startIP,
		store.Take{Key: ratelimit.RecipientKey(conn.Name, phone), Limit: s.limits().PerRecipient},
		store.Take{Key: ratelimit.RecipientDayKey(conn.Name, phone), Limit: s.limits().RecipientPerDay},
		store.Take{Key: ratelimit.CountryKey(conn.Name, strconv.Itoa(dest.CallingCode)), Limit: s.limits().SMSPerCountry})
	res, err := s.Passwordless.Start(r.Context(), passwordless.StartRequest{
		Client:          client,
		Connection:      conn,
		PhoneNumber:     phone,
		Send:            "code",
		AuthParams:      req.AuthParams,
		RequestLanguage: lang,
		IP:              ip,
		UserAgent:       truncate(r.UserAgent(), 512),
		Takes:           takes,
	})
	if !s.taken(w, r, takes, res.Buckets, err, ip, client.ClientID, jsonLimited) {
		return
	}
	if err != nil {
		// The tokens were taken before the provider was called: a
		// provider's error still counts.
		s.writeError(w, r, err)
		return
	}
	var language any
	if lang != "" {
		language = lang
	}
	writeJSON(w, http.StatusOK, map[string]any{"_id": res.ID, "phone_number": res.PhoneNumber, "phone_verified": false, "request_language": language})
}

// requestLanguage is the template language: x-request-language, else the
// first Accept-Language tag.
func requestLanguage(r *http.Request) string {
	if l := strings.TrimSpace(r.Header.Get("X-Request-Language")); l != "" {
		return truncate(l, 35)
	}
	al := r.Header.Get("Accept-Language")
	if al == "" {
		return ""
	}
	first, _, _ := strings.Cut(al, ",")
	first, _, _ = strings.Cut(first, ";")
	return truncate(strings.TrimSpace(first), 35)
}

// linkPassThrough are authParams auth0.js sends that the link carries
// unchanged for the application, though Sesame does not act on them.
var linkPassThrough = []string{"protocol", "_csrf", "_intstate", "auth0Client"}

// linkParams builds the query of a magic link (spec §2.1): the identifier,
// the connection's default authParams overridden by the request's, checked
// as an authorization request, so that a link never points at a redirect
// the client has not registered.
func (s *Server) linkParams(t *tenant.Tenant, client *tenant.Client, conn *tenant.Connection, email string, authParams map[string]any) (url.Values, error) {
	merged := map[string]string{}
	for _, src := range []map[string]any{conn.Options.AuthParams, authParams} {
		for k, v := range src {
			switch v := v.(type) {
			case nil:
			case string:
				merged[k] = v
			case bool, float64:
				merged[k] = fmt.Sprint(v)
			default:
				return nil, startError("bad.authParams", "error in authParams."+truncate(k, 64)+" - invalid type (expected string)")
			}
		}
	}
	given := url.Values{}
	for k, v := range merged {
		given.Set(k, v)
	}
	given.Set("client_id", client.ClientID)
	ar := oauth.AuthRequestFromValues(given)
	if err := oauth.ResolveRedirectURI(client, &ar); err != nil {
		return nil, authParamsError(err)
	}
	if err := s.OAuth.ValidateAuthRequest(t, client, &ar); err != nil {
		return nil, authParamsError(err)
	}
	q := ar.Values()
	q.Set("connection", conn.Name)
	q.Set("email", email)
	for _, k := range linkPassThrough {
		if v, ok := merged[k]; ok {
			q.Set(k, v)
		}
	}
	return q, nil
}

func authParamsError(err error) error {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		return startError("bad.authParams", oe.Description)
	}
	return err
}
