package tenant

import "strings"

// CallbackAllowed reports whether uri is one of the client's Allowed
// Callback URLs. Like Auth0 it compares strings exactly, except for a
// callback with a wildcard in its host, which follows Auth0's rules for
// subdomain wildcards: only for http and https, one '*' in the left-most
// label of a host with at least two more labels, optionally with a prefix or
// suffix (https://pr-*.example.com), standing for exactly one label. The
// rest of the URL (port, path, query) must match exactly.
func (c *Client) CallbackAllowed(uri string) bool {
	for _, cb := range c.Callbacks {
		if cb == uri || wildcardMatch(cb, uri) {
			return true
		}
	}
	return false
}

func wildcardMatch(pattern, uri string) bool {
	if strings.Count(pattern, "*") != 1 {
		return false
	}
	pScheme, pHost, pRest, ok := splitURL(pattern)
	if !ok || (pScheme != "http" && pScheme != "https") {
		return false
	}
	uScheme, uHost, uRest, ok := splitURL(uri)
	if !ok || uScheme != pScheme || uRest != pRest {
		return false
	}
	pLabel, pDomain, ok := strings.Cut(pHost, ".")
	if !ok || !strings.Contains(pLabel, "*") || strings.Contains(pDomain, "*") || !strings.Contains(pDomain, ".") {
		return false
	}
	uLabel, uDomain, ok := strings.Cut(uHost, ".")
	if !ok || uDomain != pDomain {
		return false
	}
	prefix, suffix, _ := strings.Cut(pLabel, "*")
	middle, ok := strings.CutPrefix(uLabel, prefix)
	if !ok {
		return false
	}
	middle, ok = strings.CutSuffix(middle, suffix)
	if !ok || middle == "" {
		return false
	}
	for _, r := range middle {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// splitURL splits an absolute URL into its lower-cased scheme and host (with
// the port) and the rest, starting at the path. URLs with user info are
// refused: they are a classic way to disguise the real host.
func splitURL(s string) (scheme, host, rest string, ok bool) {
	scheme, after, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return "", "", "", false
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		end = len(after)
	}
	host, rest = after[:end], after[end:]
	if host == "" || strings.ContainsAny(host, "@\\ ") {
		return "", "", "", false
	}
	return strings.ToLower(scheme), strings.ToLower(host), rest, true
}
