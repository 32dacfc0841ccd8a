package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"davit/api"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Admitter applies the validation rules that read the store (a VM's class
// and sizing policy, references between objects). It may default fields of
// r that depend on other objects. old is nil on create.
type Admitter interface {
	Admit(ctx context.Context, r api.Resource, old api.Resource) api.FieldErrors
}

// Config configures a Server.
type Config struct {
	// MaxBodyBytes caps request bodies; larger ones get 413.
	MaxBodyBytes int64
	// WriteRetries is how often a write whose implicit precondition went
	// stale (a concurrent change) is re-validated and retried.
	WriteRetries int
	Logger       *slog.Logger
}

// DefaultConfig returns a Config with an 8 MiB body limit.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 8 << 20, WriteRetries: 3, Logger: slog.Default()}
}

// Server is the HTTP API. Create it with New and mount Handler().
type Server struct {
	cfg     Config
	backend Backend
	agent   Agent
	admit   Admitter
	metrics *Metrics
	gather  prometheus.Gatherer
	mux     *http.ServeMux
}

// New builds the API. admit may be nil (no store rules).
func New(cfg Config, b Backend, a Agent, admit Admitter, reg *prometheus.Registry) *Server {
	s := &Server{cfg: cfg, backend: b, agent: a, admit: admit, metrics: NewMetrics(reg), gather: reg, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, a.Status()) })
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	for _, p := range []string{"/v1/{plural}", "/v1/{plural}/{name}", "/v1/namespaces/{ns}/{plural}", "/v1/namespaces/{ns}/{plural}/{name}"} {
		s.mux.HandleFunc(p, s.resource)
	}
	return s
}

// Handle mounts another handler (join, forwarding, uploads) on the mux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the root handler, which turns any panic in a handler
// into a 500 instead of killing the connection silently.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil && p != http.ErrAbortHandler {
				s.cfg.Logger.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", p)
				writeError(w, newError(http.StatusInternalServerError, "InternalError", "internal error: %v", p))
			}
		}()
		s.mux.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if err := s.agent.Ready(); err != nil {
		writeError(w, newError(http.StatusServiceUnavailable, "ServiceUnavailable", "not ready: %v", err))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// requestContext bounds a non-watch request.
func requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 30*time.Second)
}
