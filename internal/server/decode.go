package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/sesame-id/sesame/internal/fault"
	"github.com/sesame-id/sesame/internal/oauth"
	"github.com/sesame-id/sesame/internal/passwordless"
)

// readJSONObject reads a JSON object body, enforcing the content type and
// the size limit, with Auth0's start-endpoint error shape.
func readJSONObject(r *http.Request) (map[string]json.RawMessage, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, startError("bad.request", "Content-Type must be application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errBodyTooLarge
		}
		return nil, startError("bad.request", "could not read the request body")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, startError("bad.request", "the request body must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, startError("bad.request", "the request body must be a single JSON object")
	}
	return raw, nil
}

// errBodyTooLarge is answered with 413.
var errBodyTooLarge = &passwordless.Error{Kind: fault.TooLarge, Code: "bad.request", Description: "the request body is too large"}

// jsonType names the JSON type of a raw value the way Auth0's messages do.
func jsonType(v json.RawMessage) string {
	switch t := bytes.TrimSpace(v); {
	case len(t) == 0:
		return "undefined"
	case t[0] == '"':
		return "string"
	case t[0] == '{':
		return "object"
	case t[0] == '[':
		return "array"
	case t[0] == 't' || t[0] == 'f':
		return "boolean"
	case t[0] == 'n':
		return "null"
	default:
		return "number"
	}
}

// readParams reads an OAuth request body: form-encoded or a JSON object of
// strings. Parameters may not repeat (RFC 6749 §3.2).
func readParams(r *http.Request) (map[string]string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &oauth.Error{Kind: fault.TooLarge, Code: "invalid_request", Description: "the request body is too large"}
		}
		return nil, invalidRequest("could not read the request body")
	}
	params := map[string]string{}
	switch mt {
	case "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, invalidRequest("the request body is not valid form encoding")
		}
		for k, v := range values {
			if len(v) > 1 {
				return nil, invalidRequest("parameter " + k + " must not repeat")
			}
			params[k] = v[0]
		}
	case "application/json":
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
			return nil, invalidRequest("the request body must be a JSON object")
		}
		for k, v := range raw {
			switch jsonType(v) {
			case "null":
			case "string":
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					return nil, invalidRequest("invalid value for " + k)
				}
				params[k] = s
			default:
				return nil, invalidRequest("parameter " + k + " must be a string")
			}
		}
	default:
		return nil, invalidRequest("Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	return params, nil
}
