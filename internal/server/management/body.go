package management

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// MaxBodyBytes is the largest body a Management API request may have. The
// server's own limit (server.MaxBodyBytes, the same) applies first.
const MaxBodyBytes = 64 << 10

// DecodeBody reads the request's JSON object into plain values (objects
// map[string]any, arrays []any, numbers json.Number), the form
// tenant.ValidateClient and its siblings read. A body that is not one JSON
// object is a 400; one over MaxBodyBytes a 413; a Content-Type other than
// application/json a 415. Its errors are *Error, to be returned as they are.
func DecodeBody(r *http.Request) (map[string]any, error) {
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return decodeObject(data)
}

// DecodeBodyInto reads the request's JSON object into v, a pointer to a
// struct: a field the struct does not have is refused (400 invalid_body
// naming it), as is a value of the wrong type. Numbers go into json.Number
// fields as they are written. Its errors are *Error, like DecodeBody's.
func DecodeBodyInto(r *http.Request, v any) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	if _, err := decodeObject(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return InvalidBody(fmt.Sprintf("field %q: want %s, got a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value))
		default:
			// The decoder names the unknown field: json: unknown field "x".
			return InvalidBody(trimJSONPrefix(err.Error()))
		}
	}
	return nil
}

// readBody reads the body, checking its type and size.
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, &Error{Status: http.StatusUnsupportedMediaType, Message: "Unsupported Media Type"}
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge,
				Message: "Payload content length greater than maximum allowed: " + strconv.Itoa(MaxBodyBytes)}
		}
		return nil, &Error{Status: http.StatusBadRequest, Message: "Invalid request payload"}
	}
	return data, nil
}

// decodeObject decodes data, which must be exactly one JSON object.
func decodeObject(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, InvalidBody("Expected type object but found type null")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Message: "Invalid request payload JSON format"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Status: http.StatusBadRequest, Message: "Invalid request payload JSON format"}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidBody("Expected type object but found type " + jsonTypeName(v))
	}
	return m, nil
}

// jsonTypeName names the JSON type of a decoded value.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
