package login

import (
	"strings"
	"testing"

	"github.com/sesame-id/sesame/internal/tenant"
)

func TestBrand_Colors(t *testing.T) {
	tests := []struct {
		color string
		want  string
	}{
		{"", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
		{"#7C3AED", ":root{--primary:#7c3aed;--on-primary:#ffffff;--link:#7c3aed}"},
		{"#abc", ":root{--primary:#aabbcc;--on-primary:#000000;--link:#1f2328}"},    // light: dark text, dark links
		{"#ffff00", ":root{--primary:#ffff00;--on-primary:#000000;--link:#1f2328}"}, // yellow links would be unreadable
		{"#000", ":root{--primary:#000000;--on-primary:#ffffff;--link:#000000}"},
		// Anything else is the default, whatever it carries.
		{"red", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
		{"red;}body{display:none", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
		{"#fff;}body{background:url(https://evil.example/x)}", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
		{"#fff</style><script>alert(1)</script>", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
		{"#ffffff\n", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
		{"rgb(0,0,0)", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
		{"var(--x)", ":root{--primary:#0b57d0;--on-primary:#ffffff;--link:#0b57d0}"},
	}
	for _, tt := range tests {
		if got := string(Brand{PrimaryColor: tt.color}.colors()); got != tt.want {
			t.Errorf("colors(%q) = %s, want %s", tt.color, got, tt.want)
		}
		out, doc := render(t, Identifier{Page: Page{Brand: Brand{PrimaryColor: tt.color}}, Form: testForm})
		styles := all(doc, "style")
		if len(styles) != 1 || !strings.HasPrefix(text(styles[0]), tt.want+"\n") {
			t.Errorf("%q: the <style> does not start with %s", tt.color, tt.want)
		}
		if len(all(doc, "script")) != 0 || strings.Contains(out, "evil.example") || strings.Contains(out, "display:none") {
			t.Errorf("%q reached the page", tt.color)
		}
	}
}

// TestBrand_DefaultColorsContrast: white on the default button colour and
// the default link colour on white meet WCAG AA (4.5:1).
func TestBrand_DefaultColorsContrast(t *testing.T) {
	l := luminance(defaultPrimary)
	if c := contrast(l, 1); c < 4.5 {
		t.Errorf("default primary on white: %.2f:1", c)
	}
	for _, c := range []string{"#1f2328", "#57606a", "#8c1d18"} {
		if r := contrast(luminance(c), 1); r < 4.5 {
			t.Errorf("%s on white: %.2f:1", c, r)
		}
	}
	if r := contrast(luminance("#8c1d18"), luminance("#fdecea")); r < 4.5 {
		t.Errorf("problem text on its background: %.2f:1", r)
	}
}

func TestBrand_Logo(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"https://acme.example/logo.svg", "https://acme.example/logo.svg"},
		{"https://acme.example/logo.png?v=2&size=64", "https://acme.example/logo.png?v=2&size=64"},
		{"", ""},
		{"http://acme.example/logo.png", ""},
		{"//acme.example/logo.png", ""},
		{"/logo.png", ""},
		{"javascript:alert(1)", ""},
		{"JAVASCRIPT:alert(1)", ""},
		{"data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"https://user:pass@acme.example/logo.png", ""},
		{"https:logo.png", ""},
		{"https://", ""},
		{"ftp://acme.example/logo.png", ""},
		{" https://acme.example/logo.png", ""},
	}
	for _, tt := range tests {
		if got := (Brand{LogoURL: tt.url}).logo(); got != tt.want {
			t.Errorf("logo(%q) = %q, want %q", tt.url, got, tt.want)
		}
		_, doc := render(t, Identifier{Page: Page{Brand: Brand{Name: "Acme", LogoURL: tt.url}}, Form: testForm})
		imgs := all(doc, "img")
		switch {
		case tt.want == "" && len(imgs) != 0:
			t.Errorf("%q: an <img> is shown", tt.url)
		case tt.want != "" && len(imgs) != 1:
			t.Errorf("%q: no <img>", tt.url)
		case tt.want != "":
			if src, _ := attr(imgs[0], "src"); src != tt.want {
				t.Errorf("%q: src=%q", tt.url, src)
			}
			if alt, ok := attr(imgs[0], "alt"); !ok || alt != "" {
				t.Errorf("%q: the logo is decoration beside the name: want alt=\"\"", tt.url)
			}
		}
	}
}

func TestBrandOf(t *testing.T) {
	c := &tenant.Client{Name: "Acme", LogoURI: "https://acme.example/l.png",
		Sesame: &tenant.ClientSesame{Branding: &tenant.ClientBranding{PrimaryColor: "#123"}}}
	if got, want := BrandOf(c), (Brand{Name: "Acme", LogoURL: "https://acme.example/l.png", PrimaryColor: "#123"}); got != want {
		t.Errorf("BrandOf = %+v, want %+v", got, want)
	}
	if got := BrandOf(&tenant.Client{Name: "B"}); got != (Brand{Name: "B"}) {
		t.Errorf("BrandOf without branding = %+v", got)
	}
	if got := BrandOf(nil); got != (Brand{}) {
		t.Errorf("BrandOf(nil) = %+v", got)
	}
}
