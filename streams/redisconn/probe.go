package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Probing an address before go-redis dials it, so that a refused port or
// a failed TLS handshake is reported with its real cause.

// probe dials addr once, and shakes hands if TLS is on, so that a refused
// port or a failed handshake fails at once with its real cause, where
// go-redis would retry until the ping's deadline and say only "context
// deadline exceeded".
func probe(ctx context.Context, addr string, opts *redis.UniversalOptions) error {
	dialer := net.Dialer{Timeout: opts.DialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if opts.TLSConfig == nil {
		return nil
	}
	handshakeCtx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	err = tls.Client(conn, opts.TLSConfig).HandshakeContext(handshakeCtx)
	var (
		refused *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unknown):
		issuer := "an authority"
		if unknown.Cert != nil {
			issuer = fmt.Sprintf("%q", unknown.Cert.Issuer)
		}
		return fmt.Errorf("TLS handshake failed: the server's certificate is signed by %s that this machine does not trust: "+
			"name its CA with --tls-ca FILE, or skip the check with --tls-insecure", issuer)
	case errors.As(err, &refused):
		return fmt.Errorf("TLS handshake failed: the server's certificate is refused (%v); --tls-insecure skips the check", refused.Err)
	case speaksPlainRedis(ctx, addr, opts.DialTimeout):
		// A plain Redis reads a TLS hello as the start of a command and
		// waits for its end: the handshake only times out.
		return fmt.Errorf("TLS handshake failed: the server at %s does not speak TLS (try redis:// instead)", addr)
	}
	return fmt.Errorf("TLS handshake failed: %w", err)
}

// speaksPlainRedis reports whether addr answers a plain-text PING as Redis
// does: with a simple string (+PONG) or an error (-NOAUTH …).
func speaksPlainRedis(ctx context.Context, addr string, timeout time.Duration) bool {
	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	if conn.SetDeadline(time.Now().Add(timeout)) != nil {
		return false
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return false
	}
	first := make([]byte, 1)
	if _, err := io.ReadFull(conn, first); err != nil {
		return false
	}
	return first[0] == '+' || first[0] == '-'
}

// speaksTLS reports whether addr completes a TLS handshake: the likely
// reason a plain connection was dropped. Nothing is sent over it, so its
// certificate need not be checked.
func speaksTLS(ctx context.Context, addr string, timeout time.Duration) bool {
	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	handshakeCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}).HandshakeContext(handshakeCtx) == nil
}
