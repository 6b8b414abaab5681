package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/mwitkow/go-conntrack"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/prometheus/util/netconnlimit"
)

// ServerOptions configure the listeners and the HTTP server.
type ServerOptions struct {
	Logger          *slog.Logger
	ListenAddresses []string
	// WebConfigFile is exporter-toolkit's web config (TLS, auth, headers).
	// Empty serves plain HTTP, as Prometheus does without one.
	WebConfigFile  string
	ReadTimeout    time.Duration
	MaxConnections int
}

// ReadHeaderTimeout bounds how long a client may take to send its request
// headers, so idle or slow connections cannot pin the connection limit.
const ReadHeaderTimeout = 10 * time.Second

// Server owns the listeners and the http.Server.
type Server struct {
	srv       *http.Server
	listeners []net.Listener
	flags     *toolkit.FlagConfig
	logger    *slog.Logger
}

// ValidateWebConfig checks the web config file and its certificates, the way
// the server will read them; an empty path is valid (plain HTTP).
func ValidateWebConfig(path string) error {
	if err := toolkit.Validate(path); err != nil {
		return fmt.Errorf("invalid web config file %q: %w", path, err)
	}
	return nil
}

// Listen binds every listen address, sharing one connection limit across
// them. Nothing is served until Serve. Check the web config with
// ValidateWebConfig first: Serve is where it is read.
func Listen(h http.Handler, o ServerOptions) (*Server, error) {
	var sem chan struct{}
	if o.MaxConnections > 0 {
		sem = netconnlimit.NewSharedSemaphore(o.MaxConnections)
	}
	s := &Server{
		logger: o.Logger,
		srv: &http.Server{
			Handler:           withStackTracer(h, o.Logger),
			ReadTimeout:       o.ReadTimeout,
			ReadHeaderTimeout: ReadHeaderTimeout,
			// TLS handshake failures and other connection errors go to the
			// structured log at warning level: they are the client's doing.
			ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		},
		flags: &toolkit.FlagConfig{WebConfigFile: &o.WebConfigFile},
	}
	for _, addr := range o.ListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		if sem != nil {
			l = netconnlimit.SharedLimitListener(l, sem)
		}
		// Prometheus's net_conntrack_listener_* metrics.
		l = conntrack.NewListener(l, conntrack.TrackWithName("http"))
		s.listeners = append(s.listeners, l)
	}
	return s, nil
}

// Addrs are the bound addresses, with real ports for ":0".
func (s *Server) Addrs() []net.Addr {
	addrs := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		addrs[i] = l.Addr()
	}
	return addrs
}

// Serve serves until Shutdown; it returns nil after a clean shutdown.
func (s *Server) Serve() error {
	if *s.flags.WebConfigFile == "" {
		s.logger.Warn("No --web.config.file: serving plain HTTP without TLS or authentication")
	}
	err := toolkit.ServeMultiple(s.listeners, s.srv, s.flags, s.logger)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	// Some web config problems only surface here, such as cipher_suites
	// that HTTP/2 cannot use.
	return fmt.Errorf("serve with web config %q: %w", *s.flags.WebConfigFile, err)
}

// Shutdown stops accepting connections and waits for active requests until
// ctx ends, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	// A listener whose serving failed at setup was never handed to the
	// http.Server; close it here so no connection is left hanging.
	s.closeListeners()
	return err
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		l.Close()
	}
}

// withStackTracer logs a panicking request's stack through slog before
// net/http recovers it.
func withStackTracer(h http.Handler, l *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if err := recover(); err != nil {
				if err != http.ErrAbortHandler { //nolint:errorlint // net/http matches the exact sentinel.
					l.Error("panic while serving request", "client", r.RemoteAddr, "url", r.URL, "err", err)
				}
				panic(err)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
