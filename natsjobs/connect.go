package natsjobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// ClientOptions are how a command reaches a NATS cluster. The zero value
// connects to nats.DefaultURL without credentials.
type ClientOptions struct {
	// URL is one or more server URLs, comma-separated; "" means
	// nats://127.0.0.1:4222.
	URL string
	// Name is the connection name servers show in their monitoring; ""
	// means "reconpcap".
	Name string
	// Creds is a credentials file (a user JWT and its NKey seed).
	Creds string
	// NKeySeed is a file holding an NKey seed, for NKey authentication.
	NKeySeed string
	// TLSCA is a file of CA certificates to verify the servers with;
	// TLSCert and TLSKey are a client certificate and its key, for
	// servers that require one. Both or neither.
	TLSCA, TLSCert, TLSKey string
	// User and Password authenticate by user name. Password without User
	// is refused.
	User, Password string
	// Token authenticates with a token.
	Token string
	// MaxReconnects is how many times a lost connection is tried again
	// before it is closed: 0 means nats.go's default (60, two seconds
	// apart), -1 for ever, as a long-running worker wants.
	MaxReconnects int
}

// Options returns the nats.Options o describes. Refused combinations
// (a key without a certificate) are errors here, not at the server.
func (o ClientOptions) Options() ([]nats.Option, error) {
	name := o.Name
	if name == "" {
		name = "reconpcap"
	}
	opts := []nats.Option{nats.Name(name)}
	if o.MaxReconnects != 0 {
		opts = append(opts, nats.MaxReconnects(o.MaxReconnects))
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.NKeySeed != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeed)
		if err != nil {
			return nil, fmt.Errorf("natsjobs: NKey seed: %w", err)
		}
		opts = append(opts, opt)
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("natsjobs: a TLS client certificate needs its key, and a key its certificate")
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.Password != "" && o.User == "" {
		return nil, errors.New("natsjobs: a password needs a user")
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	return opts, nil
}

// Connect connects to the cluster o names. A connection that is not up
// when ctx ends is abandoned.
func Connect(ctx context.Context, o ClientOptions) (*nats.Conn, error) {
	opts, err := o.Options()
	if err != nil {
		return nil, err
	}
	url := o.URL
	if url == "" {
		url = nats.DefaultURL
	}
	if d, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(max(time.Until(d), time.Millisecond)))
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, opts...)
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("natsjobs: connecting to %s: %w", url, r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		go func() { // close the connection if it comes up after all
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}
