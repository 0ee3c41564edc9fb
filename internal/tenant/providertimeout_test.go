package tenant

import (
	"testing"
	"time"
)

func TestConnectionOptions_ProviderTimeout(t *testing.T) {
	c, _, err := ValidateConnection(body(t, `{"name":"s","strategy":"sms","options":{"sesame":{"provider_timeout":7}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Value.Options.ProviderTimeout(); got != 7*time.Second {
		t.Errorf("ProviderTimeout = %v", got)
	}
	if got := (ConnectionOptions{}).ProviderTimeout(); got != 0 {
		t.Errorf("ProviderTimeout of no options = %v", got)
	}
}
