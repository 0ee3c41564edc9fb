package tenant

import "strings"

// OriginAllowed reports whether origin, a browser's Origin header
// (scheme://host[:port]), may read Sesame's answers to this client's
// requests (CORS): it is one of the client's Allowed Web Origins
// (web_origins) or Allowed Origins (allowed_origins), or the origin of one of
// its http(s) callbacks, which Auth0 allows by default. An entry may carry
// a subdomain wildcard (https://*.example.com) under the rules of
// CallbackAllowed. "null" and anything that is not a plain http(s) origin
// match nothing.
func (c *Client) OriginAllowed(origin string) bool {
	o, ok := requestOrigin(origin)
	if !ok {
		return false
	}
	return originIn(o, c.WebOrigins, false) || originIn(o, c.AllowedOrigins, false) || originIn(o, c.Callbacks, true)
}

// WebOriginAllowed reports whether origin is one of the client's Allowed Web
// Origins (web_origins): what cross-origin authentication checks ("Behavior
// used for check: WEB ORIGIN" in Auth0's fco log).
func (c *Client) WebOriginAllowed(origin string) bool {
	o, ok := requestOrigin(origin)
	return ok && originIn(o, c.WebOrigins, false)
}

// LogoutURLAllowed reports whether uri is one of the client's Allowed Logout
// URLs, compared as CallbackAllowed compares callbacks: exactly, or under a
// subdomain wildcard.
func (c *Client) LogoutURLAllowed(uri string) bool {
	for _, u := range c.AllowedLogoutURLs {
		if u == uri || wildcardMatch(u, uri) {
			return true
		}
	}
	return false
}

// requestOrigin checks an Origin header and returns it canonical (lower
// case, without the scheme's default port): http or https, a host of
// letters, digits, '.', '-' and an optional port or IPv6 brackets, nothing
// after it.
func requestOrigin(s string) (string, bool) {
	scheme, host, rest, ok := splitURL(s)
	if !ok || rest != "" || (scheme != "http" && scheme != "https") {
		return "", false
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':' || r == '[' || r == ']') {
			return "", false
		}
	}
	return scheme + "://" + withoutDefaultPort(scheme, host), true
}

// originIn reports whether the canonical origin o is one of entries: web
// origins (scheme://host[:port] with at most a "/" after it), or with
// ofURLs the origins of URLs (callbacks). Entries with a wildcard match
// under wildcardMatch's rules.
func originIn(o string, entries []string, ofURLs bool) bool {
	for _, e := range entries {
		scheme, host, rest, ok := splitURL(e)
		if !ok || (scheme != "http" && scheme != "https") || (!ofURLs && rest != "" && rest != "/") {
			continue
		}
		p := scheme + "://" + withoutDefaultPort(scheme, host)
		if p == o || wildcardMatch(p, o) {
			return true
		}
	}
	return false
}

// withoutDefaultPort drops :443 from an https host and :80 from an http
// one, as browsers do in an Origin header.
func withoutDefaultPort(scheme, host string) string {
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	}
	return host
}

// IsWebOrigin reports whether s can be an entry of web_origins or
// allowed_origins: an http(s) origin, perhaps with a wildcard, with nothing
// after it but an optional "/".
func IsWebOrigin(s string) bool {
	scheme, _, rest, ok := splitURL(s)
	return ok && (scheme == "http" || scheme == "https") && (rest == "" || rest == "/")
}
