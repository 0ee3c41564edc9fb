// Package delivery owns sending: it renders the Auth0-compatible email and
// SMS templates (one Liquid engine, and SMS's md_with_macros beside it),
// seals outbox payloads so that codes never rest in clear, picks the
// provider a tenant configures (Providers: SMTP or the log for email;
// Twilio, a custom gateway or the log for SMS), and runs the outbox worker
// that hands queued email to it.
//
// Email goes through the store's outbox; an SMS is sent within the
// /passwordless/start request, so that a provider's failure reaches the
// caller the way Auth0 reports it: a *ProviderError, sms_provider_error.
package delivery
