package login

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/sesame-id/sesame/internal/tenant"
)

// Brand is how the pages show the application. Any field may be empty, and
// the pages check LogoURL and PrimaryColor again when they render, so a
// Brand built by hand is as safe as one from BrandOf.
type Brand struct {
	// Name is the application's name, shown in the title and heading.
	Name string
	// LogoURL is shown above the heading when it is an https URL.
	LogoURL string
	// PrimaryColor colours buttons and links when it is #RGB or #RRGGBB.
	PrimaryColor string
}

// BrandOf is the brand of a client from the tenant: its name, logo_uri and
// sesame.branding.primary_color.
func BrandOf(c *tenant.Client) Brand {
	if c == nil {
		return Brand{}
	}
	return Brand{Name: c.Name, LogoURL: c.LogoURI, PrimaryColor: c.PrimaryColor()}
}

// defaultPrimary is the colour of buttons and links without a brand colour
// (white on it: contrast 6.3:1).
const defaultPrimary = "#0b57d0"

// logo returns LogoURL when it is an absolute https URL with a host and no
// credentials, else "". The page's CSP allows images over https only.
func (b Brand) logo() string {
	u, err := url.Parse(b.LogoURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return u.String()
}

// colors returns the CSS custom properties of the brand, for the page's
// nonce'd <style> element (a style attribute would need 'unsafe-inline').
// A colour that is not #RGB or #RRGGBB gives the default, so no CSS from the
// tenant reaches the page. The text on buttons is white or black, whichever
// contrasts more; links take the brand colour only where it is readable on
// white (4.5:1, WCAG AA), else the text colour.
func (b Brand) colors() template.CSS {
	primary := strings.ToLower(b.PrimaryColor)
	if !tenant.ValidColor(primary) {
		primary = defaultPrimary
	}
	if len(primary) == 4 {
		primary = string([]byte{'#', primary[1], primary[1], primary[2], primary[2], primary[3], primary[3]})
	}
	l := luminance(primary)
	on := "#ffffff"
	if contrast(l, 0) > contrast(l, 1) {
		on = "#000000"
	}
	link := primary
	if contrast(l, 1) < 4.5 {
		link = "#1f2328"
	}
	// Only #rrggbb values are formatted into this, checked above.
	return template.CSS(fmt.Sprintf(":root{--primary:%s;--on-primary:%s;--link:%s}", primary, on, link))
}

// luminance is the WCAG relative luminance of a #rrggbb colour.
func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.04045 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

// contrast is the WCAG contrast ratio of two luminances.
func contrast(a, b float64) float64 {
	return (math.Max(a, b) + 0.05) / (math.Min(a, b) + 0.05)
}
