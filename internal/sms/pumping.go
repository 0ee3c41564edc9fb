package sms

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Destination describes where a valid E.164 number leads, for the checks
// against SMS pumping (toll fraud through premium and unallocated ranges).
type Destination struct {
	CallingCode int    // country calling code, e.g. 1, 44
	Region      string // ISO region, e.g. US, GB
	Premium     bool   // premium-rate or shared-cost: the classic pumping targets
	Unknown     bool   // libphonenumber cannot tell what kind of line it is
}

// destination tells where a parsed number leads.
func destination(n *phonenumbers.PhoneNumber) Destination {
	t := phonenumbers.GetNumberType(n)
	return Destination{
		CallingCode: int(n.GetCountryCode()),
		Region:      phonenumbers.GetRegionCodeForNumber(n),
		Premium:     t == phonenumbers.PREMIUM_RATE || t == phonenumbers.SHARED_COST,
		Unknown:     t == phonenumbers.UNKNOWN,
	}
}

// CallingCodeAllowed reports whether a country calling code is in an
// allow-list of codes written "1", "+44" or "44"; an empty list allows all.
func CallingCodeAllowed(allowed []string, code int) bool {
	if len(allowed) == 0 {
		return true
	}
	want := strconv.Itoa(code)
	for _, a := range allowed {
		if strings.TrimPrefix(strings.TrimSpace(a), "+") == want {
			return true
		}
	}
	return false
}
