package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// Each request's access-log line carries a request id (also sent back in
// X-Request-Id, so that a user's report can be found in the log), the
// route (the pattern that matched, never the path with its values), and the
// client_id and connection once the handler knows them. Nothing else of
// the request is logged: query strings and bodies carry codes and tokens.

type reqInfoKey struct{}

// reqInfo is what the handler adds to its request's log line.
type reqInfo struct {
	id         string
	route      string
	clientID   string
	connection string
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func withReqInfo(r *http.Request, info *reqInfo) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info))
}

// annotate records the request's client and connection for its log line;
// empty values leave what is known. Values come from the caller, so they
// are cut to a length a real id or name never reaches.
func annotate(r *http.Request, clientID, connection string) {
	info, _ := r.Context().Value(reqInfoKey{}).(*reqInfo)
	if info == nil {
		return
	}
	if clientID != "" {
		info.clientID = truncate(clientID, 64)
	}
	if connection != "" {
		info.connection = truncate(connection, 64)
	}
}
