package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/sesame-id/sesame/internal/tenant"
)

// parseAddr reads an address the way every caller address is kept:
// IPv4-mapped addresses as IPv4, and without a zone id (fe80::1%eth0 is
// fe80::1: the zone names our interface, not the caller, and a zoned
// address is inside no prefix).
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, err
	}
	return a.Unmap().WithZone(""), nil
}

// peerAddr is the TCP peer of a request.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := parseAddr(host)
	return a, err == nil
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CallerIP is the address of r's caller as the tenant log and the rate
// limits see it (callerIP), for the Management API's handler.
func (s *Server) CallerIP(r *http.Request) string { return s.callerIP(r) }

// callerIP is the address of whoever sent the request: the TCP peer, unless
// the peer is a trusted proxy, in which case X-Forwarded-For is read from
// the right and the first address that is not a trusted proxy is the caller.
// A malformed entry ends the walk: the last address we could trust stands.
func (s *Server) callerIP(r *http.Request) string {
	peer, ok := peerAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	if !s.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	caller := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := parseAddr(hops[i])
		if err != nil {
			break
		}
		caller = a
		if !s.trusted(caller) {
			break
		}
	}
	return caller.String()
}

// endUserIP is the address that rate limits and brute-force protection
// count for a request from client. auth0-forwarded-for replaces the caller's
// address only when all of spec §6.3 holds: the client is confidential, this
// request authenticated with its secret, and the client has
// is_token_endpoint_ip_header_trusted. Otherwise, or when the header is
// malformed, it is ignored.
func (s *Server) endUserIP(r *http.Request, client *tenant.Client, authenticated bool) string {
	if client != nil && authenticated && !client.IsPublic() && client.IsTokenEndpointIPHeaderTrusted {
		if a, err := parseAddr(r.Header.Get("Auth0-Forwarded-For")); err == nil {
			return a.String()
		}
	}
	return s.callerIP(r)
}
