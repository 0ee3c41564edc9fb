package tenant

import "fmt"

// devTenant is the development tenant, written as a tenant file so that it
// goes through the same checks and defaults as any other.
const devTenant = `
clients:
  - name: Default App
    app_type: regular_web
    token_endpoint_auth_method: client_secret_post
    grant_types:
      - http://auth0.com/oauth/grant-type/passwordless/otp
      - authorization_code
      - implicit
      - refresh_token
    callbacks:
      - http://127.0.0.1:8080/callback
      - http://localhost:8080/callback
      - http://localhost:3000/callback
connections:
  - name: email
    strategy: email
    enabled_clients: [Default App]
  - name: sms
    strategy: sms
    enabled_clients: [Default App]
`

// DevFile is the development tenant that `sesame serve` creates when it is
// given no tenant file: one regular web application, "Default App", and the
// email and sms connections enabled for it. It has no email provider, so
// messages go to the log.
func DevFile() *File {
	f, _, err := ParseFile("development tenant.yaml", []byte(devTenant), "", nil)
	if err != nil {
		panic(fmt.Sprintf("tenant: the development tenant is invalid: %v", err))
	}
	return f
}
