package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sesame-id/sesame/internal/tenant"
)

// twilioSender sends through Twilio's Programmable Messaging REST API:
// POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP
// Basic with the account SID and auth token.
type twilioSender struct {
	opts tenant.ConnectionOptions
	cfg  SMSConfig
}

// twilioError is the body of a Twilio error answer, e.g.
// {"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400}.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// maxProviderBody bounds what we read of a provider's answer.
const maxProviderBody = 64 << 10

func (s *twilioSender) SendSMS(ctx context.Context, m SMS) error {
	form := url.Values{}
	form.Set("To", m.To)
	form.Set("Body", m.Body)
	// A Messaging Service picks a sender from its own pool. Twilio accepts
	// From beside it only when From belongs to that pool, and Auth0
	// connections often keep an unrelated from next to
	// messaging_service_sid; so the service, when set, goes alone.
	if s.opts.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", s.opts.MessagingServiceSID)
	} else if from := smsFrom(m, s.opts); from != "" {
		form.Set("From", from) // as given: alphanumeric sender IDs and short codes exist
	}

	endpoint := strings.TrimRight(s.cfg.TwilioAPIURL, "/") +
		"/2010-04-01/Accounts/" + url.PathEscape(s.opts.TwilioSID) + "/Messages.json"

	timeout := twilioTimeout
	if d := s.opts.ProviderTimeout(); d > 0 {
		timeout = d
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("delivery: sms: twilio: %w", cause(err))
	}
	req.SetBasicAuth(s.opts.TwilioSID, s.opts.TwilioToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil { // our caller gave up; not Twilio's doing
			return fmt.Errorf("delivery: sms: twilio: %w", ctx.Err())
		}
		return providerError(cause(err), "Could not reach Twilio: %s", shortReason(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProviderBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// 201 with the message resource ("status": "queued"): accepted.
		// Delivery reports come later, by status callback, if at all.
		return nil
	}
	if err != nil {
		return providerError(cause(err), "Unexpected response from Twilio: %d", resp.StatusCode)
	}
	var te twilioError
	if json.Unmarshal(body, &te) == nil && te.Message != "" {
		if te.Code != 0 {
			return providerError(nil, "%s (Code: %d)", te.Message, te.Code)
		}
		return providerError(nil, "%s", te.Message)
	}
	return providerError(nil, "Unexpected response from Twilio: %d", resp.StatusCode)
}
