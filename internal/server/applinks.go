package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The documents that let a phone open the app links of link_ios and
// link_android magic links (passwordless.AppLinkPath) in the app rather
// than the browser. iOS fetches /apple-app-site-association (or its
// .well-known twin) from the link's host and opens universal links under
// the paths it lists in the app it names; Android fetches
// /.well-known/assetlinks.json to verify an app link's intent filter.
// Auth0 serves both from the tenant domain, built from each application's
// mobile settings, and so does Sesame. Both sit at the root of the host:
// with an issuer that has a path, a proxy in front must map them there.

// appLinksMaxAge is how long a phone may keep either document.
const appLinksMaxAge = "public, max-age=300"

// issuerPath is the path of the issuer, "/" or "/auth/".
func (s *Server) issuerPath() string {
	u, err := url.Parse(s.Issuer)
	if err != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return u.Path
}

// handleAppleAppSiteAssociation lists, for each client with an iOS team ID
// and bundle identifier, the universal link paths of its link_ios magic
// links, in the shape Auth0's tenants serve.
func (s *Server) handleAppleAppSiteAssociation(w http.ResponseWriter, r *http.Request) {
	type detail struct {
		AppID string   `json:"appID"`
		Paths []string `json:"paths"`
	}
	details := []detail{}
	for _, c := range s.Tenant().Clients {
		if c.Mobile == nil || c.Mobile.IOS == nil || c.Mobile.IOS.TeamID == "" || c.Mobile.IOS.AppBundleIdentifier == "" {
			continue
		}
		ios := c.Mobile.IOS
		details = append(details, detail{
			AppID: ios.TeamID + "." + ios.AppBundleIdentifier,
			Paths: []string{s.issuerPath() + "ios/" + ios.AppBundleIdentifier + "/*"},
		})
	}
	slices.SortFunc(details, func(a, b detail) int { return strings.Compare(a.AppID, b.AppID) })
	w.Header().Set("Cache-Control", appLinksMaxAge)
	writeJSON(w, http.StatusOK, map[string]any{"applinks": map[string]any{"apps": []string{}, "details": details}})
}

// handleAssetLinks is the Digital Asset Links statement list: each client
// with an Android package name and certificate fingerprints may handle the
// app links of its link_android magic links.
func (s *Server) handleAssetLinks(w http.ResponseWriter, r *http.Request) {
	type target struct {
		Namespace    string   `json:"namespace"`
		PackageName  string   `json:"package_name"`
		Fingerprints []string `json:"sha256_cert_fingerprints"`
	}
	type statement struct {
		Relation []string `json:"relation"`
		Target   target   `json:"target"`
	}
	out := []statement{}
	for _, c := range s.Tenant().Clients {
		if c.Mobile == nil || c.Mobile.Android == nil || c.Mobile.Android.AppPackageName == "" || len(c.Mobile.Android.SHA256CertFingerprints) == 0 {
			continue
		}
		a := c.Mobile.Android
		out = append(out, statement{
			Relation: []string{"delegate_permission/common.handle_all_urls"},
			Target:   target{Namespace: "android_app", PackageName: a.AppPackageName, Fingerprints: a.SHA256CertFingerprints},
		})
	}
	slices.SortFunc(out, func(a, b statement) int { return strings.Compare(a.Target.PackageName, b.Target.PackageName) })
	w.Header().Set("Cache-Control", appLinksMaxAge)
	writeJSON(w, http.StatusOK, out)
}
