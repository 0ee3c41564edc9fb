package management

import (
	"net/http"

	"github.com/sesame-id/sesame/internal/eventlog"
	"github.com/sesame-id/sesame/internal/users"
)

// User blocks: /api/v2/user-blocks, the brute-force blocks of an
// identifier (an email address or a phone number, in any form a login
// accepts) or of a user. Reading them takes read:users and lifting them
// update:users, as at Auth0. Lifting them is recorded in the tenant log
// (ublkdu) with the calling client and address; a user an operator blocked
// (PATCH blocked:true) stays blocked.

func (a *API) userBlockRoutes(rt *Router) {
	rt.Handle("GET /api/v2/user-blocks", []string{"read:users"}, a.blocksOfIdentifier)
	rt.Handle("DELETE /api/v2/user-blocks", []string{"update:users"}, a.unblockIdentifier)
	rt.Handle("GET /api/v2/user-blocks/{id}", []string{"read:users"}, a.blocksOfUser)
	rt.Handle("DELETE /api/v2/user-blocks/{id}", []string{"update:users"}, a.unblockUser)
}

// considerBruteForce checks Auth0's consider_brute_force_enablement. With
// it true Auth0 leaves out the blocks of connections whose brute-force
// protection is off; Sesame keeps no blocks for those, so either value
// answers the same.
func considerBruteForce(r *http.Request) error {
	_, err := QueryBool(r, "consider_brute_force_enablement", false)
	return err
}

func (a *API) blocksOfIdentifier(w http.ResponseWriter, r *http.Request, _ *Call) error {
	if err := considerBruteForce(r); err != nil {
		return err
	}
	bs, err := a.Users.BlocksOfIdentifier(r.Context(), r.URL.Query().Get("identifier"))
	if err != nil {
		return userError(err)
	}
	WriteJSON(w, http.StatusOK, bs)
	return nil
}

func (a *API) blocksOfUser(w http.ResponseWriter, r *http.Request, _ *Call) error {
	if err := considerBruteForce(r); err != nil {
		return err
	}
	bs, err := a.Users.BlocksOfUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return userError(err)
	}
	WriteJSON(w, http.StatusOK, bs)
	return nil
}

func (a *API) unblockIdentifier(w http.ResponseWriter, r *http.Request, c *Call) error {
	rel, err := a.Users.UnblockIdentifier(r.Context(), r.URL.Query().Get("identifier"))
	if err != nil {
		return userError(err)
	}
	a.released(r, c, rel, "DELETE /api/v2/user-blocks")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) unblockUser(w http.ResponseWriter, r *http.Request, c *Call) error {
	rel, err := a.Users.UnblockUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return userError(err)
	}
	a.released(r, c, rel, "DELETE /api/v2/user-blocks/{id}")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// released records the ublkdu event of rel, when it lifted a block, made
// by the caller through route. The blocks are gone by then: an event the
// log cannot take is logged, not answered.
func (a *API) released(r *http.Request, c *Call, rel users.Released, route string) {
	if a.Events == nil || rel.Blocks == 0 {
		return
	}
	e := eventlog.BlockReleased(a.caller(r, c.ClientID), rel.Identifier, rel.Blocks, route)
	e.UserID, e.Connection = rel.UserID, rel.Connection
	if err := a.Events(r.Context(), e); err != nil {
		a.Logger.Warn("tenant log: block release not recorded", "err", err)
	}
}
