package tenant

import "testing"

func TestClient_CallbackAllowed(t *testing.T) {
	c := &Client{Callbacks: []string{
		"https://app.example.com/callback",
		"https://*.preview.example.com/cb",
		"https://pr-*-web.example.org/cb",
		"com.example.app://tenant.example.com/ios/com.example.app/callback",
		"https://*.com/cb",
		"myapp://*.example.com/cb",
	}}
	tests := []struct {
		uri  string
		want bool
	}{
		{"https://app.example.com/callback", true},
		{"https://app.example.com/callback/", false},
		{"http://app.example.com/callback", false},
		{"https://app.example.com/callback?x=1", false},
		{"https://feature-1.preview.example.com/cb", true},
		{"https://FEATURE-1.Preview.Example.com/cb", true},
		{"https://a.b.preview.example.com/cb", false},
		{"https://preview.example.com/cb", false},
		{"https://x.preview.example.com/cb2", false},
		{"https://x.preview.example.com:8443/cb", false},
		{"https://evil.com@x.preview.example.com/cb", false},
		{"https://x.preview.example.com.evil.com/cb", false},
		{"https://pr-42-web.example.org/cb", true},
		{"https://pr--web.example.org/cb", false},
		{"com.example.app://tenant.example.com/ios/com.example.app/callback", true},
		{"https://x.com/cb", false},
		{"myapp://x.example.com/cb", false},
	}
	for _, tt := range tests {
		if got := c.CallbackAllowed(tt.uri); got != tt.want {
			t.Errorf("CallbackAllowed(%q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}
