// Package management serves Auth0's Management API v2 under /api/v2/, the
// calls that the go-auth0 management package, the node auth0
// ManagementClient, the Deploy CLI and Terraform make: clients, connections,
// resource servers, client grants, signing keys, the tenant log, users and
// user blocks so far.
//
// Every route takes a Bearer access token that a client got for itself with
// the client_credentials grant for the audience {issuer}api/v2/, signed by
// one of Sesame's keys; each route names the scopes it accepts (any one of
// them will do, as at Auth0). Every answer to a caller carries Auth0's rate
// limit headers, from a token bucket per calling client kept in the store
// (so shared by the replicas). Errors come in the Management API's own
// shape, {"statusCode","error","message","errorCode"}, with Auth0's strings
// where they are known.
//
// Every call of a route is recorded in the tenant log once answered (see
// oplog.go): sapi for a write that succeeded, fapi for any failure, with the
// token's client, the caller's address and user agent, the method, the
// path and the status, never the query, the body, the token or the answer.
// GET /api/v2/logs reads that log (logs.go, ParseLogQuery).
//
// # Adding a route
//
// Put a family of routes in a file of its own (users.go), with a function
// that registers them, and call it from routes in routes.go:
//
//	func (a *API) userRoutes(rt *Router) {
//		rt.Handle("GET /api/v2/users/{id}", []string{"read:users"}, a.getUser)
//	}
//
//	func (a *API) getUser(w http.ResponseWriter, r *http.Request, c *Call) error {
//		u, err := a.Users.User(r.Context(), r.PathValue("id")) // a field you add to API
//		if errors.Is(err, store.ErrNotFound) {
//			return NewError(http.StatusNotFound, "inexistent_user", "The user does not exist.")
//		}
//		if err != nil {
//			return err // logged, answered 500 (503 while the database is unavailable)
//		}
//		WriteJSON(w, http.StatusOK, userBody(u))
//		return nil
//	}
//
// By the time a handler runs, the token, the rate limit and the scope have
// been checked; c says which client called, with what scopes, and holds the
// tenant in service. The helpers:
//
//   - Router.Handle(pattern, scopes, handler): register a route;
//     pattern is a net/http pattern with method and whole path.
//   - HandlerFunc: func(w, r, *Call) error; return an *Error to answer it,
//     any other error for a logged 500.
//   - NewError(status, errorCode, message), InvalidBody(problem),
//     InvalidQuery(problem), Conflict(message), InsufficientScope(scopes):
//     answers in Auth0's shape.
//   - DecodeBody(r): the JSON object body as map[string]any with
//     json.Number numbers (what tenant.ValidateClient and its siblings
//     take); DecodeBodyInto(r, &v): into a struct, unknown fields refused.
//     Both enforce Content-Type, size and syntax, with Auth0's answers.
//   - ParsePage(r) and WritePage(w, page, "users", all) or
//     WriteList(w, page, "users", items, total): page, per_page,
//     include_totals, and the {start, limit, length, total, users} wrapper.
//   - ParseFields(r) and Fields.Apply(object): fields and include_fields.
//   - QueryBool(r, name, default): a true/false query parameter.
//   - WriteJSON(w, status, v): a success.
//   - API.UpdateTenant(ctx, fn): change the stored tenant (clients,
//     connections, resource servers, grants) in one transaction, checked
//     whole, then served by this replica at once.
//
// What the API needs from the store is declared in Store; a family that
// needs more adds its own interface and field to API (wired in
// internal/app).
package management
