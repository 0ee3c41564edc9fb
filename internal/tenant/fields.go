package tenant

// This file lists every field a tenant file may hold, and what Sesame does
// with each. Sources:
//   - the objects: github.com/auth0/go-auth0 v1.45.0, management/client.go,
//     connection.go (ConnectionOptionsEmail, ConnectionOptionsSMS),
//     resource_server.go, client_grant.go, email_provider.go, checked against
//     the Management API reference (POST /api/v2/clients and friends);
//   - the read-only fields: auth0-deploy-cli src/readonly.ts (what
//     `a0deploy export` strips) and the Management API responses.
//
// A field is "used" when Sesame acts on it (it is typed in types.go) or when
// it only describes the object (description, metadata); "ignored" fields are
// accepted, stored and reported with one warning; "readOnly" fields are set
// by Auth0, never by a file: they are dropped with one warning. The same
// tables check an object sent alone to the Management API (validate.go).

// credentialFields is a client credential (private_key_jwt, mTLS, JAR).
var credentialFields = fields{
	"id":                     str(used),
	"name":                   str(used),
	"kid":                    str(used),
	"credential_type":        str(used),
	"pem":                    str(used),
	"alg":                    str(used),
	"parse_expiry_from_cert": boolean(used),
	"created_at":             str(used),
	"updated_at":             str(used),
	"expires_at":             str(used),
	"subject_dn":             str(used),
	"thumbprint_sha256":      str(used),
}

// clientFields is an application (Management API /api/v2/clients).
var clientFields = fields{
	"name":                                str(used),
	"description":                         str(used),
	"client_id":                           str(used),
	"client_secret":                       str(used), // hashed, never stored
	"app_type":                            str(used),
	"token_endpoint_auth_method":          str(used),
	"grant_types":                         strs(used),
	"callbacks":                           strs(used),
	"allowed_origins":                     strs(used),
	"web_origins":                         strs(used),
	"allowed_logout_urls":                 strs(used),
	"is_first_party":                      boolean(used),
	"oidc_conformant":                     boolean(used),
	"is_token_endpoint_ip_header_trusted": boolean(used),
	"cross_origin_authentication":         boolean(used),
	"cross_origin_auth":                   boolean(used), // the older name, still in many exports
	"cross_origin_loc":                    str(used),
	"client_metadata":                     free(used),
	"logo_uri":                            str(used),
	"sesame": object(used, fields{
		"branding": object(used, fields{"primary_color": str(used)}),
	}),
	"jwt_configuration": object(used, fields{
		"lifetime_in_seconds": intOrString(used), // go-auth0 accepts a number or a numeric string
		"alg":                 str(used),
		"secret_encoded":      boolean(used),
		"scopes":              free(ignored),
	}),
	"refresh_token": object(used, fields{
		"rotation_type":                str(used),
		"expiration_type":              str(used),
		"leeway":                       integer(used),
		"token_lifetime":               integer(used),
		"infinite_token_lifetime":      boolean(used),
		"idle_token_lifetime":          integer(used),
		"infinite_idle_token_lifetime": boolean(used),
		"policies": objects(ignored, fields{
			"audience": str(used),
			"scope":    strs(used),
		}),
	}),

	"client_aliases":                        strs(ignored),
	"allowed_clients":                       strs(ignored),
	"encryption_key":                        strMap(ignored),
	"sso":                                   boolean(ignored),
	"sso_disabled":                          boolean(ignored),
	"custom_login_page_on":                  boolean(ignored),
	"custom_login_page":                     str(ignored),
	"form_template":                         str(ignored),
	"addons":                                free(ignored), // some thirty add-ons, each with its own settings
	"initiate_login_uri":                    str(ignored),
	"organization_usage":                    str(ignored),
	"organization_require_behavior":         str(ignored),
	"organization_discovery_methods":        strs(ignored),
	"require_pushed_authorization_requests": boolean(ignored),
	"require_proof_of_possession":           boolean(ignored),
	"compliance_level":                      str(ignored),
	"resource_server_identifier":            str(ignored),
	"skip_non_verifiable_callback_uri_confirmation_prompt": boolean(ignored),
	"async_approval_notification_channels":                 strs(ignored),
	"external_client_id":                                   str(ignored),
	"external_metadata_type":                               str(ignored),
	"external_metadata_created_by":                         str(ignored),
	"jwks_uri":                                             str(ignored),
	"third_party_security_mode":                            str(ignored),
	"redirection_policy":                                   str(ignored),
	"is_heroku_app":                                        boolean(ignored),
	// The app that link_ios and link_android magic links open, and what
	// /apple-app-site-association and /.well-known/assetlinks.json publish.
	"mobile": object(used, fields{
		"android": object(used, fields{
			"app_package_name":         str(used),
			"sha256_cert_fingerprints": strs(used),
		}),
		"ios": object(used, fields{
			"team_id":               str(used),
			"app_bundle_identifier": str(used),
		}),
	}),
	"native_social_login": object(ignored, fields{
		"apple":    enabledFlag(used),
		"google":   enabledFlag(used),
		"facebook": enabledFlag(used),
	}),
	"client_authentication_methods": object(ignored, fields{
		"private_key_jwt":             object(used, fields{"credentials": credentialList(used)}),
		"tls_client_auth":             object(used, fields{"credentials": credentialList(used)}),
		"self_signed_tls_client_auth": object(used, fields{"credentials": credentialList(used)}),
	}),
	"signed_request_object": object(ignored, fields{
		"required":    boolean(used),
		"credentials": credentialList(used),
	}),
	"oidc_backchannel_logout": object(ignored, fields{
		"backchannel_logout_urls": strs(used),
	}),
	"oidc_logout": object(ignored, fields{
		"backchannel_logout_urls": strs(used),
		"backchannel_logout_initiators": object(used, fields{
			"mode":                str(used),
			"selected_initiators": strs(used),
		}),
		"backchannel_logout_session_metadata": object(used, fields{
			"include": boolean(used),
		}),
	}),
	"default_organization": object(ignored, fields{
		"flows":           strs(used),
		"organization_id": str(used),
	}),
	"token_exchange": object(ignored, fields{
		"allow_any_profile_of_type": strs(used),
	}),
	"token_quota": object(ignored, fields{
		"client_credentials": object(used, fields{
			"enforce":  boolean(used),
			"per_day":  integer(used),
			"per_hour": integer(used),
		}),
	}),
	"session_transfer": object(ignored, fields{
		"can_create_session_transfer_token": boolean(used),
		"allowed_authentication_methods":    strs(used),
		"enforce_device_binding":            str(used),
		"allow_refresh_token":               boolean(used),
		"enforce_online_refresh_tokens":     boolean(used),
		"enforce_cascade_revocation":        boolean(used),
		"delegation": object(used, fields{
			"allow_delegated_access": boolean(used),
			"enforce_device_binding": str(used),
		}),
	}),
	"express_configuration": object(ignored, fields{
		"initiate_login_uri_template": str(used),
		"user_attribute_profile_id":   str(used),
		"connection_profile_id":       str(used),
		"enable_client":               boolean(used),
		"enable_organization":         boolean(used),
		"linked_clients":              objects(used, fields{"client_id": str(used)}),
		"okta_oin_client_id":          str(used),
		"admin_login_domain":          str(used),
		"oin_submission_id":           str(used),
	}),
	"my_organization_configuration": object(ignored, fields{
		"connection_profile_id":        str(used),
		"user_attribute_profile_id":    str(used),
		"allowed_strategies":           strs(used),
		"connection_deletion_behavior": str(used),
		"invitation_landing_client_id": str(used),
	}),
	"fedcm_login": object(ignored, fields{
		"google": object(used, fields{"is_enabled": boolean(used)}),
	}),

	// Set by Auth0; a0deploy export strips them.
	"signing_keys":              anyValue(readOnly),
	"callback_url_template":     boolean(readOnly),
	"global":                    boolean(readOnly),
	"tenant":                    str(readOnly),
	"custom_login_page_preview": str(readOnly),
	"config_route":              str(readOnly),
	"owners":                    strs(readOnly),
}

// totpFields is the one-time code of the email and sms strategies.
var totpFields = fields{
	"length":    integer(used),
	"time_step": integer(used),
}

// Options of the email and sms strategies that Sesame does not implement.
// Each is refused unless it asks for nothing (its zero value, or the
// default Auth0 exports carry), never accepted and silently ignored.
var (
	// Auth0's default; a passwordless user's profile comes from no upstream
	// provider, so there is nothing to copy on a later login either.
	setUserRootAttributes = refused(str(used), "on_each_login",
		"a passwordless user's root attributes come from no upstream identity provider; only on_each_login (Auth0's default) is accepted")
	nonPersistentAttrs = refused(strs(used), nil,
		"Sesame stores no attributes from an upstream identity provider, so there are none to leave out; only an empty list is accepted")
	upstreamParams = refused(free(used), nil,
		"Sesame has no upstream identity provider to pass parameters to; only an empty object is accepted")
)

// emailOptionFields is options of an email (passwordless) connection.
var emailOptionFields = fields{
	"name": str(used),
	"email": object(used, fields{
		"from":    str(used),
		"subject": str(used),
		"body":    str(used),
		"syntax":  str(used),
	}),
	"totp":                     object(used, totpFields),
	"authParams":               free(used),
	"sesame":                   object(used, sesameOptionFields),
	"disable_signup":           boolean(used),
	"brute_force_protection":   boolean(used),
	"set_user_root_attributes": setUserRootAttributes,
	"non_persistent_attrs":     nonPersistentAttrs,
	"upstream_params":          upstreamParams,
}

// sesameOptionFields are Sesame's own options of an email connection, kept
// under options.sesame so they never collide with a field Auth0 adds later.
var sesameOptionFields = fields{
	"link_confirmation": boolean(used),
	"login_page_send":   str(used),
}

// sesameSMSOptionFields are Sesame's own options of an sms connection.
var sesameSMSOptionFields = fields{
	"allowed_country_codes": strs(used),
	"provider_timeout":      integer(used),
}

// smsOptionFields is options of an sms (passwordless) connection.
var smsOptionFields = fields{
	"name":     str(used),
	"from":     str(used),
	"syntax":   str(used),
	"template": str(used),
	"totp":     object(used, totpFields),
	// Authentication parameters go into magic links, and sms connections
	// send codes only.
	"authParams": refused(free(used), nil,
		"sms connections send codes only, and authParams are the parameters of a magic link; only an empty object is accepted"),
	"twilio_sid":            str(used),
	"twilio_token":          str(used),
	"messaging_service_sid": str(used),
	"provider":              str(used),
	"gateway_url":           str(used),
	"gateway_authentication": object(used, fields{
		"method":                str(used),
		"subject":               str(used),
		"audience":              str(used),
		"secret":                str(used),
		"secret_base64_encoded": boolean(used),
	}),
	"forward_req_info":       boolean(used),
	"sesame":                 object(used, sesameSMSOptionFields),
	"disable_signup":         boolean(used),
	"brute_force_protection": boolean(used),
	"upstream_params":        upstreamParams,
	"non_persistent_attrs":   nonPersistentAttrs,
	// Auth0's custom SMS gateway guide puts the strategy in options too;
	// it can only say what the connection's strategy says (validate.go).
	"strategy": str(used),
}

// passwordlessConnectionFields is connectionFields for the email and sms
// strategies, which Sesame implements: the fields it does not act on are
// refused unless they hold Auth0's default, rather than ignored.
var passwordlessConnectionFields = func() fields {
	fs := fields{}
	for k, f := range connectionFields {
		fs[k] = f
	}
	fs["is_domain_connection"] = refused(boolean(used), nil,
		"Sesame enables a connection for its enabled_clients only (a domain connection would serve every application, third-party ones included)")
	fs["show_as_button"] = refused(boolean(used), nil,
		"the hosted login page lists every enabled passwordless connection; there is no home realm discovery to hide one behind")
	fs["authentication"] = refused(activeFlag(used), map[string]any{"active": true},
		"a passwordless connection always serves logins; only {active: true} (Auth0's default) is accepted")
	fs["connected_accounts"] = refused(activeFlag(used), map[string]any{"active": false},
		"Sesame has no connected accounts (Token Vault); only {active: false} (Auth0's default) is accepted")
	return fs
}()

// connectionFields is a connection (Management API /api/v2/connections).
// options is checked against emailOptionFields or smsOptionFields by
// strategy; the options of other strategies are accepted as they are.
var connectionFields = fields{
	"id":                   str(used),
	"name":                 str(used),
	"display_name":         str(used),
	"strategy":             str(used),
	"options":              free(used),
	"enabled_clients":      strs(used),
	"realms":               strs(used),
	"metadata":             strMap(used),
	"is_domain_connection": boolean(used),
	"show_as_button":       boolean(ignored),
	"authentication":       activeFlag(ignored),
	"connected_accounts":   activeFlag(ignored),

	"provisioning_ticket_url": str(readOnly),
}

// resourceServerFields is an API (Management API /api/v2/resource-servers).
var resourceServerFields = fields{
	"id":         str(used),
	"name":       str(used),
	"identifier": str(used),
	"scopes": objects(used, fields{
		"value":       str(used),
		"description": str(used),
	}),
	"signing_alg":            str(used),
	"allow_offline_access":   boolean(used),
	"token_lifetime":         integer(used),
	"token_lifetime_for_web": integer(used),
	"skip_consent_for_verifiable_first_party_clients": boolean(used),

	"signing_secret":                              str(ignored),
	"allow_online_access":                         boolean(ignored),
	"allow_online_access_with_ephemeral_sessions": boolean(ignored),
	"verificationLocation":                        str(ignored),
	"options":                                     strMap(ignored),
	"enforce_policies":                            boolean(ignored),
	"token_dialect":                               str(ignored),
	"consent_policy":                              str(ignored),
	"authorization_details":                       anyValue(ignored),
	"token_encryption": object(ignored, fields{
		"format": str(used),
		"encryption_key": object(used, fields{
			"name": str(used),
			"alg":  str(used),
			"kid":  str(used),
			"pem":  str(used),
		}),
	}),
	"proof_of_possession": object(ignored, fields{
		"mechanism":    str(used),
		"required":     boolean(used),
		"required_for": str(used),
	}),
	"subject_type_authorization": object(ignored, fields{
		"user":   object(used, fields{"policy": str(used)}),
		"client": object(used, fields{"policy": str(used)}),
	}),
	"authorization_policy": object(ignored, fields{"policy_id": str(used)}),

	"client_id": str(readOnly),
	"is_system": boolean(readOnly),
}

// clientGrantFields is a client grant (Management API /api/v2/client-grants).
var clientGrantFields = fields{
	"id":        str(used),
	"client_id": str(used),
	"audience":  str(used),
	"scope":     strs(used),

	"allow_all_scopes":            boolean(ignored),
	"allow_any_organization":      boolean(ignored),
	"organization_usage":          str(ignored),
	"subject_type":                str(ignored),
	"authorization_details_types": strs(ignored),
	"default_for":                 str(ignored),

	"is_system": boolean(readOnly),
}

// emailProviderFields is the email provider (Management API
// /api/v2/emails/provider). The credentials of every provider are accepted;
// a provider other than smtp gets one warning for the whole object.
var emailProviderFields = fields{
	"name":                 str(used),
	"enabled":              boolean(used),
	"default_from_address": str(used),
	"settings":             free(used),
	"credentials": object(used, fields{
		"smtp_host": str(used),
		"smtp_port": intOrString(used), // a0deploy exports '##SMTP_PORT##'
		"smtp_user": str(used),
		"smtp_pass": str(used),
		// Other providers (mandrill, sendgrid, sparkpost, mailgun, ses,
		// azure_cs, ms365).
		"api_key":          str(used),
		"accessKeyId":      str(used),
		"secretAccessKey":  str(used),
		"region":           str(used),
		"domain":           str(used),
		"connectionString": str(used),
		"tenantId":         str(used),
		"clientId":         str(used),
		"clientSecret":     str(used),
	}),
}
