package tenant

import "testing"

func TestClient_OriginAllowed(t *testing.T) {
	c := &Client{
		WebOrigins:     []string{"https://app.example.com", "https://*.preview.example.com", "http://localhost:3000/"},
		AllowedOrigins: []string{"https://cors.example.org:8443"},
		Callbacks:      []string{"https://cb.example.net/callback", "com.example.app://cb", "https://*.cb.example.net/x"},
	}
	tests := []struct {
		origin   string
		want     bool
		wantWeb  bool
		scenario string
	}{
		{"https://app.example.com", true, true, "exact web origin"},
		{"https://APP.example.com", true, true, "host case"},
		{"https://app.example.com:443", true, true, "default port"},
		{"http://localhost:3000", true, true, "entry with a trailing slash"},
		{"https://feature-1.preview.example.com", true, true, "wildcard"},
		{"https://cors.example.org:8443", true, false, "allowed_origins"},
		{"https://cb.example.net", true, false, "a callback's origin"},
		{"https://x.cb.example.net", true, false, "a wildcard callback's origin"},
		{"null", false, false, "opaque origin"},
		{"", false, false, "no origin"},
		{"https://app.example.com.evil.com", false, false, "suffix"},
		{"https://evilapp.example.com", false, false, "prefix"},
		{"https://app.example.co", false, false, "shorter"},
		{"http://app.example.com", false, false, "scheme"},
		{"https://app.example.com:8443", false, false, "port"},
		{"http://localhost:3001", false, false, "other port"},
		{"https://cors.example.org", false, false, "allowed_origins without its port"},
		{"https://a.b.preview.example.com", false, false, "wildcard stands for one label"},
		{"https://preview.example.com", false, false, "wildcard stands for a label"},
		{"https://app.example.com/", false, false, "a path is no origin"},
		{"https://user@app.example.com", false, false, "user info"},
		{"https://*.preview.example.com", false, false, "a wildcard is no origin"},
		{"com.example.app://cb", false, false, "custom scheme"},
		{"https://app.example.com%2eevil.com", false, false, "escapes"},
	}
	for _, tt := range tests {
		if got := c.OriginAllowed(tt.origin); got != tt.want {
			t.Errorf("%s: OriginAllowed(%q) = %v, want %v", tt.scenario, tt.origin, got, tt.want)
		}
		if got := c.WebOriginAllowed(tt.origin); got != tt.wantWeb {
			t.Errorf("%s: WebOriginAllowed(%q) = %v, want %v", tt.scenario, tt.origin, got, tt.wantWeb)
		}
	}
}

func TestClient_WebOriginsWithAPathMatchNothing(t *testing.T) {
	c := &Client{WebOrigins: []string{"https://app.example.com/login"}}
	if c.OriginAllowed("https://app.example.com") {
		t.Error("an entry with a path matched its origin")
	}
	if IsWebOrigin("https://app.example.com/login") || !IsWebOrigin("https://*.example.com") {
		t.Error("IsWebOrigin is wrong")
	}
}

func TestClient_LogoutURLAllowed(t *testing.T) {
	c := &Client{AllowedLogoutURLs: []string{"https://app.example.com/bye", "https://*.example.org/"}}
	tests := []struct {
		uri  string
		want bool
	}{
		{"https://app.example.com/bye", true},
		{"https://x.example.org/", true},
		{"https://app.example.com/bye?next=https://evil.com", false},
		{"https://app.example.com/bye/../evil", false},
		{"https://app.example.com.evil.com/bye", false},
		{"https://evil.com/https://app.example.com/bye", false},
		{"//evil.com", false},
		{"https://evil.com#https://app.example.com/bye", false},
		{"https://x.example.org.evil.com/", false},
		{"javascript:alert(1)//https://app.example.com/bye", false},
	}
	for _, tt := range tests {
		if got := c.LogoutURLAllowed(tt.uri); got != tt.want {
			t.Errorf("LogoutURLAllowed(%q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}
