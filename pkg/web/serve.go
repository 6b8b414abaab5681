package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mwitkow/go-conntrack"
	"github.com/prometheus/client_golang/prometheus"
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
	// Registerer takes the web config watch's metric.
	Registerer prometheus.Registerer
	// WebConfigCheckInterval is how often the web config file is checked
	// for changes to warn about; zero means DefaultWebConfigCheckInterval.
	WebConfigCheckInterval time.Duration
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

	// Every request's context derives from base, cancelled first at
	// shutdown, so queries and other long requests stop at once.
	base       context.Context
	cancelBase context.CancelFunc
	inflight   inflight

	watch         *webConfigWatch // nil without a web config
	watchInterval time.Duration
}

// ErrRequestsRunning is returned by Shutdown when handlers still run after
// it gave up: what they use (the engine, the storage) must not be closed.
var ErrRequestsRunning = errors.New("requests still running")

// HandlerGrace is how long Shutdown waits for handlers after closing their
// connections, should the drain deadline have passed.
const HandlerGrace = 5 * time.Second

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
	s := &Server{logger: o.Logger}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           s.inflight.track(withStackTracer(h, o.Logger)),
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ReadTimeout:       o.ReadTimeout,
		ReadHeaderTimeout: ReadHeaderTimeout,
		// TLS handshake failures and other connection errors go to the
		// structured log at warning level: they are the client's doing.
		ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	s.flags = &toolkit.FlagConfig{WebConfigFile: &o.WebConfigFile}
	if o.WebConfigFile != "" {
		s.watch = newWebConfigWatch(o.WebConfigFile, o.Logger, o.Registerer)
		s.watchInterval = o.WebConfigCheckInterval
		if s.watchInterval <= 0 {
			s.watchInterval = DefaultWebConfigCheckInterval
		}
	}
	for _, addr := range o.ListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			s.closeListeners()
			s.cancelBase()
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
	if s.watch != nil {
		go s.watch.run(s.base, s.watchInterval)
	}
	err := toolkit.ServeMultiple(s.listeners, s.srv, s.flags, s.logger)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	// Some web config problems only surface here, such as cipher_suites
	// that HTTP/2 cannot use.
	return fmt.Errorf("serve with web config %q: %w", *s.flags.WebConfigFile, err)
}

// Shutdown cancels every request's context (queries stop), stops accepting
// connections and waits for active ones until ctx ends, then closes what is
// left and waits for the handlers to return. Only then may what they use be
// closed; if they have not returned within HandlerGrace, the error wraps
// ErrRequestsRunning. It also serves a Server that never served.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancelBase()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	// A listener whose serving failed at setup was never handed to the
	// http.Server; close it here so no connection is left hanging.
	s.closeListeners()
	// Shutdown and Close do not wait for handlers of hijacked or closed
	// connections.
	grace, cancel := context.WithTimeout(context.Background(), HandlerGrace)
	defer cancel()
	if n := s.inflight.wait(grace); n > 0 {
		err = errors.Join(err, fmt.Errorf("%w: %d", ErrRequestsRunning, n))
	}
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

// inflight counts running handlers. (A sync.WaitGroup cannot: requests may
// still arrive, from zero, while Shutdown waits.)
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero
}

func (f *inflight) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if f.n == 0 {
			f.idle = make(chan struct{})
		}
		f.n++
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.n--
			if f.n == 0 {
				close(f.idle)
			}
			f.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// wait waits until no handler runs or ctx ends, and returns how many still run.
func (f *inflight) wait(ctx context.Context) int {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return 0
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return 0
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.n
	}
}
