package delivery

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"syscall"
)

// shortReason names a network failure in the form Auth0's own messages
// use: Auth0 runs on Node, and its "Timeout while calling the SMS gateway:
// <code>" ends in a Node error code (ETIMEDOUT, ECONNREFUSED, ...). We say
// the same for the same failure, so that nothing in the answer to a client
// (addresses, URLs, Go error text) reveals the provider's network details.
// The full error stays in Error.Err for the logs.
func shortReason(err error) string {
	var (
		dnsErr  *net.DNSError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		certErr x509.CertificateInvalidError
	)
	switch {
	case isTimeout(err):
		return "ETIMEDOUT"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "ECONNREFUSED"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "ECONNRESET"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "EHOSTUNREACH"
	case errors.As(err, &dnsErr):
		return "ENOTFOUND"
	case errors.As(err, &hostErr):
		return "ERR_TLS_CERT_ALTNAME_INVALID"
	case errors.As(err, &authErr):
		return "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
	case errors.As(err, &certErr) && certErr.Reason == x509.Expired:
		return "CERT_HAS_EXPIRED"
	case errors.As(err, &certErr):
		return "CERT_INVALID"
	}
	return "EPROTO"
}

// isTimeout reports whether err is a deadline running out, ours or the
// HTTP client's.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cause strips the URL from an *url.Error: a gateway URL may carry a key in
// its query string, and Error.Err ends up in logs.
func cause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
