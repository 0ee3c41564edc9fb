package tenant

import (
	"strings"
	"testing"
)

func TestValidateClient_MobileIdentifiers(t *testing.T) {
	c, _, err := ValidateClient(body(t, `{"name":"A","mobile":{"ios":{"team_id":"ABCDE12345","app_bundle_identifier":"com.example.app"},
		"android":{"app_package_name":"com.example.app","sha256_cert_fingerprints":["AB:CD"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Value.IOSBundle() != "com.example.app" || c.Value.AndroidPackage() != "com.example.app" {
		t.Errorf("mobile = %+v", c.Value.Mobile)
	}
	_, _, err = ValidateClient(body(t, `{"name":"A","mobile":{"ios":{"app_bundle_identifier":"com.example/../x"}}}`))
	if err == nil || !strings.Contains(err.Error(), `field "mobile.ios.app_bundle_identifier": want letters, digits, dots, dashes and underscores, got "com.example/../x"`) {
		t.Errorf("error %v", err)
	}
}
