package login

import (
	"io"
	"testing"
	"time"
)

// Template rendering: the code page, the page a login spends most time on.
func BenchmarkWriteCodePage(b *testing.B) {
	v := Code{
		Page:    Page{Lang: Negotiate("", "fr-CA,fr;q=0.9,en;q=0.5"), Brand: Brand{Name: "My App", PrimaryColor: "#0b57d0"}, ReturnTo: "https://app.example.com/callback"},
		Form:    Form{Action: "/login/code", Tx: "tx", CSRF: "csrf"},
		Channel: Email, Identifier: "someone@example.com", Length: 6, AnotherURL: "/login?another=1",
		Resend: Form{Action: "/login/resend", Tx: "tx", CSRF: "csrf"}, ResendIn: 20 * time.Second,
	}
	for b.Loop() {
		if err := Write(io.Discard, v, "nonce"); err != nil {
			b.Fatal(err)
		}
	}
}
