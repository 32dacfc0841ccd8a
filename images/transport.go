package images

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

const (
	dialTimeout         = 30 * time.Second
	tlsHandshakeTimeout = 30 * time.Second
)

// newTransport is an HTTP transport that trusts the system roots plus
// caBundle, and waits at most headerTimeout for response headers. It does
// not ask for transparent gzip, so the bytes checksummed are the file's.
func newTransport(caBundle []byte, insecureSkipVerify bool, headerTimeout time.Duration) (*http.Transport, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecureSkipVerify} //nolint:gosec // only for explicitly insecure registries
	if len(caBundle) > 0 {
		pool, err := certPool(caBundle)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: headerTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}, nil
}

// certPool is the system pool plus the certificates of caBundle, which is
// PEM, or PEM encoded once more in base64 as in a resource's caBundle.
func certPool(caBundle []byte) (*x509.CertPool, error) {
	pem := caBundle
	if !strings.Contains(string(pem), "-----BEGIN") {
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(pem)))
		if err != nil {
			return nil, fmt.Errorf("parse caBundle: neither PEM nor base64 of PEM: %w", err)
		}
		pem = dec
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("parse caBundle: no PEM certificate found")
	}
	return pool, nil
}

// describeTLSError turns a certificate or handshake failure into a message
// that says what to do, matching ErrTLS; other errors come back nil.
func describeTLSError(host string, err error) error {
	var (
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalid    x509.CertificateInvalidError
		recordHdr  tls.RecordHeaderError
		verifyErr  *tls.CertificateVerificationError
		alertErr   tls.AlertError
		hint       string
		isTLSError = true
	)
	switch {
	case errors.As(err, &unknownCA):
		hint = "the server certificate is signed by an unknown authority; set caBundle to the CA that signed it"
	case errors.As(err, &hostname):
		hint = fmt.Sprintf("the server certificate is not valid for %s", host)
	case errors.As(err, &invalid):
		hint = "the server certificate is invalid: " + invalid.Error()
	case errors.As(err, &recordHdr),
		// net/http replaces the RecordHeaderError by an unexported error.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		hint = "the server did not answer with TLS; is the URL meant to be http://?"
	case errors.As(err, &verifyErr):
		hint = "the server certificate could not be verified"
	case errors.As(err, &alertErr):
		hint = "the server refused the TLS handshake"
	default:
		isTLSError = false
	}
	if !isTLSError {
		return nil
	}
	return fmt.Errorf("%w with %s: %s: %w", ErrTLS, host, hint, err)
}
