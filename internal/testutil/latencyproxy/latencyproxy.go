// Package latencyproxy is a reverse proxy for tests and benchmarks that sits in
// front of an AWS emulator (moto_server) and makes it look like a remote AWS
// endpoint: every request waits a fixed round-trip delay before it is
// forwarded, and every request is counted by its AWS operation (the
// X-Amz-Target header of the JSON protocols, or the Action parameter of the
// query protocol used by STS and EC2).
//
// The plumbing is reusable: Operation names the AWS operation of a request,
// Counter counts requests and connections, and Proxy.Front puts another test
// double (awsfake's emulation of what moto lacks, say) in front of the
// forwarding.
package latencyproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ControlPrefix is the path prefix the proxy answers itself instead of
// forwarding: GET ControlPrefix+"counts" returns a Snapshot as JSON,
// GET ControlPrefix+"trace" the Events recorded since the last reset (when
// Proxy.Trace is set), and POST ControlPrefix+"reset" zeroes both.
const ControlPrefix = "/__latencyproxy/"

// maxFormBody bounds how much of a query-protocol body is read to find its
// Action: AWS query requests of interest are tiny.
const maxFormBody = 1 << 20

// Operation returns the AWS operation a request calls: the part of
// X-Amz-Target after the last '.' ("TrentService.DescribeKey" ->
// "DescribeKey"), else the Action of a query-protocol request (URL query or
// form body), else "METHOD /path". It may read a form body, and puts back
// exactly what it read, so the request can still be forwarded.
func Operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			return t[i+1:]
		}
		return t
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBody))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		if err == nil {
			if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
				return v.Get("Action")
			}
		}
	}
	return r.Method + " " + r.URL.Path
}

// Counter counts requests per operation, requests in flight (and their high
// water) and TCP connections accepted. It is safe for concurrent use.
type Counter struct {
	mu          sync.Mutex
	byOp        map[string]int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	conns       atomic.Int64
}

// Snapshot is a copy of a Counter's values.
type Snapshot struct {
	Total       int64            `json:"total"`
	ByOperation map[string]int64 `json:"by_operation"`
	MaxInFlight int64            `json:"max_in_flight"`
	Connections int64            `json:"connections"`
}

// Operations returns the operation names of s, sorted.
func (s Snapshot) Operations() []string {
	ops := make([]string, 0, len(s.ByOperation))
	for op := range s.ByOperation {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Begin records the start of a request to op; call the returned func when it
// ends.
func (c *Counter) Begin(op string) (end func()) {
	c.mu.Lock()
	if c.byOp == nil {
		c.byOp = map[string]int64{}
	}
	c.byOp[op]++
	c.mu.Unlock()
	n := c.inFlight.Add(1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return func() { c.inFlight.Add(-1) }
}

// ConnState is an http.Server ConnState hook that counts new connections.
func (c *Counter) ConnState(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		c.conns.Add(1)
	}
}

// Snapshot returns the current values.
func (c *Counter) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{ByOperation: make(map[string]int64, len(c.byOp)), MaxInFlight: c.maxInFlight.Load(), Connections: c.conns.Load()}
	for op, n := range c.byOp {
		s.ByOperation[op] = n
		s.Total += n
	}
	return s
}

// Reset zeroes every counter (requests in flight stay counted as in flight).
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byOp = nil
	c.maxInFlight.Store(c.inFlight.Load())
	c.conns.Store(0)
}

// maxEvents bounds the trace a Proxy keeps.
const maxEvents = 1 << 20

// Event is one request as the proxy saw it: when it arrived, when its answer
// was complete, both in Unix nanoseconds, and its operation.
type Event struct {
	Operation string `json:"op"`
	Start     int64  `json:"start_ns"`
	End       int64  `json:"end_ns"`
	Status    int    `json:"status"`
}

// Proxy forwards requests to Target after Delay, counting them.
type Proxy struct {
	// Target is where requests go (e.g. moto_server's URL).
	Target *url.URL
	// Delay is added to every forwarded request: the round trip a remote
	// endpoint would cost. Zero forwards at once.
	Delay time.Duration
	// Counts is updated for every request except control requests.
	Counts Counter
	// Front, when set, wraps the forwarding handler (after the delay): it
	// may answer a request itself or pass it on to next. awsfake.Server.Front
	// plugs in here.
	Front func(next http.Handler) http.Handler
	// Trace records an Event per request (up to about a million), for a
	// timeline of a run: when calls start, how many overlap, what the tail is.
	Trace bool

	once   sync.Once
	proxy  http.Handler
	mu     sync.Mutex
	events []Event
}

// Events returns the trace recorded since the last reset.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// New returns a proxy to target adding delay to every request.
func New(target *url.URL, delay time.Duration) *Proxy {
	return &Proxy{Target: target, Delay: delay}
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		p.control(w, r)
		return
	}
	p.once.Do(p.init)
	op := Operation(r)
	end := p.Counts.Begin(op)
	defer end()
	if p.Trace {
		start := time.Now().UnixNano()
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() {
			p.mu.Lock()
			if len(p.events) < maxEvents {
				p.events = append(p.events, Event{Operation: op, Start: start, End: time.Now().UnixNano(), Status: sw.status})
			}
			p.mu.Unlock()
		}()
	}
	if p.Delay > 0 {
		t := time.NewTimer(p.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	p.proxy.ServeHTTP(w, r)
}

func (p *Proxy) init() {
	rp := httputil.NewSingleHostReverseProxy(p.Target)
	// Many requests in flight at once: keep their connections to the target
	// instead of churning through new ones.
	rp.Transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, "latencyproxy: "+err.Error(), http.StatusBadGateway)
	}
	p.proxy = rp
	if p.Front != nil {
		p.proxy = p.Front(rp)
	}
}

func (p *Proxy) control(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, ControlPrefix) {
	case "counts":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Counts.Snapshot())
	case "trace":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Events())
	case "reset":
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		p.Counts.Reset()
		p.mu.Lock()
		p.events = nil
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// Server is a Proxy listening on a loopback port.
type Server struct {
	// URL is the proxy's base URL (http://127.0.0.1:PORT).
	URL   string
	Proxy *Proxy
	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
}

// Start listens on addr (e.g. "127.0.0.1:0" for a free loopback port) and
// serves p until Close.
func Start(addr string, p *Proxy) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:   "http://" + ln.Addr().String(),
		Proxy: p,
		ln:    ln,
		done:  make(chan struct{}),
		srv: &http.Server{
			Handler:           p,
			ConnState:         p.Counts.ConnState,
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server, waiting up to a few seconds for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}
