// Package faultproxy is a fault-injecting reverse proxy for tests: it sits on
// 127.0.0.1 in front of an AWS endpoint (usually a real moto_server) and, by
// rule, answers chosen requests with the failures real AWS and real networks
// produce: throttling, 5xx, connection resets, truncated bodies, slow answers,
// and a region that never answers. It counts every request it sees, by AWS
// operation and region, so tests can bound retries.
//
// Operations are read from the request the way AWS routes it: the
// X-Amz-Target header of the JSON protocols ("TrentService.ListKeys" is
// ListKeys) or the Action= parameter of the query protocols (EC2, STS). The
// region and service come from the SigV4 credential scope in the
// Authorization header.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a kind of failure the proxy injects.
type Fault int

// Faults. Each is what a client sees from real AWS or a real network.
const (
	// None forwards the request (useful with Delay for a slow answer).
	None Fault = iota
	// Throttle answers HTTP 400 with the service's throttling error: for the
	// KMS JSON protocol {"__type":"ThrottlingException","message":"Rate
	// exceeded"} (KMS API reference, common errors), for EC2
	// RequestLimitExceeded and for STS Throttling in their XML shapes.
	Throttle
	// ServerError answers HTTP 500 (InternalFailure; KMSInternalException for KMS).
	ServerError
	// Unavailable answers HTTP 503 (ServiceUnavailable).
	Unavailable
	// Reset reads the request, then closes the connection with a TCP RST and
	// no response.
	Reset
	// Truncate forwards the request, then sends the upstream response with
	// its true Content-Length but only half of its body, and closes.
	Truncate
	// Hang never answers: the request is held until the client gives up
	// (its context ends and it closes the connection) or the proxy closes.
	Hang
	// Error answers with Status (default 400) and the service's error shape
	// carrying Code and Message (e.g. AccessDeniedException), for errors that
	// must not be retried and for hostile error messages.
	Error
	// Respond answers with Status (default 200) and Body verbatim, in the
	// protocol's content type: a stand-in for an endpoint that returns what
	// real AWS validates away (hostile alias names, say).
	Respond
)

var faultNames = map[Fault]string{
	None: "none", Throttle: "throttle", ServerError: "http-500", Unavailable: "http-503",
	Reset: "connection-reset", Truncate: "truncated-body", Hang: "never-answers", Error: "error", Respond: "respond",
}

// String names the fault for reports.
func (f Fault) String() string {
	if n, ok := faultNames[f]; ok {
		return n
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// Rule selects requests and says what to do to them. Empty selectors match
// everything. The first rule (in the order given) that selects a request and
// still has budget decides; a request no rule takes is forwarded unchanged.
type Rule struct {
	// Operation is the AWS operation name (ListKeys, DescribeRegions,
	// GetCallerIdentity); empty matches every operation.
	Operation string
	// Region is the signing region; empty matches every region.
	Region string
	// Service is the signing service (kms, ec2, sts); empty matches all.
	Service string
	// Fault is what happens to a selected request.
	Fault Fault
	// Times bounds how many selected requests get the fault; 0 means every
	// one (a persistent fault).
	Times int
	// Skip lets the first Skip selected requests through untouched before
	// the fault starts.
	Skip int
	// Delay is added before the fault (or before forwarding, for None).
	Delay time.Duration
	// Status, Code and Message shape an Error fault's answer; Status and
	// Body a Respond fault's.
	Status  int
	Code    string
	Message string
	Body    string
	// Emulate marks a rule that stands in for an answer the upstream cannot
	// give (an STS role moto does not know): its answers are not counted as
	// injected. What moto lacks altogether goes through Proxy.SetFront.
	Emulate bool

	seen, hits int
}

// Request identifies one request the proxy saw.
type Request struct {
	Operation string
	Region    string
	Service   string
}

// Proxy is a running fault-injecting proxy. It is safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL (http://127.0.0.1:PORT).
	URL string

	srv       *httptest.Server
	target    *url.URL
	transport *http.Transport
	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	front    func(next http.Handler) http.Handler
	rules    []*Rule
	counts   map[Request]int
	injected map[Request]int
	total    int
	faulted  int
}

// New starts a proxy on 127.0.0.1 forwarding to target (e.g. a moto_server
// URL) with the given rules. Close it when done.
func New(target string, rules ...Rule) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	p := &Proxy{
		target:    u,
		transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		closing:   make(chan struct{}),
		counts:    map[Request]int{},
		injected:  map[Request]int{},
	}
	p.SetRules(rules...)
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy, releasing any held request.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() { close(p.closing) })
	p.srv.CloseClientConnections()
	p.srv.Close()
	p.transport.CloseIdleConnections()
}

// SetRules replaces the rules (and their budgets).
func (p *Proxy) SetRules(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = p.rules[:0]
	for i := range rules {
		r := rules[i]
		r.seen, r.hits = 0, 0
		p.rules = append(p.rules, &r)
	}
}

// SetFront puts front (e.g. awsfake.Server.Front, the one emulation of what
// moto lacks) before the forwarding of every request no fault takes: rules
// still come first, so a case can fault an emulated call.
func (p *Proxy) SetFront(front func(next http.Handler) http.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.front = front
}

// ResetCounts zeroes the request counters.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts, p.injected, p.total, p.faulted = map[Request]int{}, map[Request]int{}, 0, 0
}

// Total returns the number of requests seen.
func (p *Proxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// Injected returns the number of requests that got a fault.
func (p *Proxy) Injected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faulted
}

// Counts returns the requests seen per operation/region/service.
func (p *Proxy) Counts() map[Request]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Request]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Count returns the requests seen for operation (and region, if not empty).
func (p *Proxy) Count(operation, region string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, v := range p.counts {
		if (operation == "" || k.Operation == operation) && (region == "" || k.Region == region) {
			n += v
		}
	}
	return n
}

// CountsText renders the counts as sorted "Operation region: n" lines, for
// test failure messages.
func (p *Proxy) CountsText() string {
	c := p.Counts()
	var lines []string
	for k, v := range c {
		lines = append(lines, fmt.Sprintf("%s %s %s: %d", k.Service, k.Operation, k.Region, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// Identify reads the operation, region and service of an AWS request. The
// body is read and put back.
func Identify(r *http.Request) (Request, []byte, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			return Request{}, nil, err
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	var req Request
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		req.Operation = t
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			req.Operation = t[i+1:]
		}
	} else if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if v, err := url.ParseQuery(string(body)); err == nil {
			req.Operation = v.Get("Action")
		}
	}
	if req.Operation == "" {
		req.Operation = r.URL.Query().Get("Action")
	}
	req.Region, req.Service = credentialScope(r.Header.Get("Authorization"))
	return req, body, nil
}

// credentialScope returns region and service from a SigV4 Authorization
// header: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request, ...".
func credentialScope(auth string) (region, service string) {
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return "", ""
	}
	cred := auth[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return "", ""
	}
	return parts[2], parts[3]
}

func (p *Proxy) pick(req Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	p.counts[req]++
	for _, r := range p.rules {
		if (r.Operation != "" && r.Operation != req.Operation) ||
			(r.Region != "" && r.Region != req.Region) ||
			(r.Service != "" && r.Service != req.Service) {
			continue
		}
		r.seen++
		if r.seen <= r.Skip {
			return nil
		}
		if r.Times > 0 && r.hits >= r.Times {
			continue
		}
		r.hits++
		if r.Fault != None && !r.Emulate {
			p.injected[req]++
			p.faulted++
		}
		cp := *r
		return &cp
	}
	return nil
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	req, body, err := Identify(r)
	if err != nil {
		http.Error(w, "faultproxy: read request: "+err.Error(), http.StatusBadGateway)
		return
	}
	rule := p.pick(req)
	if rule != nil && rule.Delay > 0 {
		t := time.NewTimer(rule.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-p.closing:
			t.Stop()
			return
		}
	}
	fault := None
	if rule != nil {
		fault = rule.Fault
	}
	switch fault {
	case None:
		p.mu.Lock()
		front := p.front
		p.mu.Unlock()
		if front == nil {
			p.forward(w, r, body, false)
			return
		}
		front(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			p.forward(w, r, b, false)
		})).ServeHTTP(w, r)
	case Throttle:
		writeError(w, r, req, http.StatusBadRequest, throttleCode(req), "Rate exceeded")
	case ServerError:
		code := "InternalFailure"
		if isJSON(r) && req.Service == "kms" {
			code = "KMSInternalException"
		}
		writeError(w, r, req, http.StatusInternalServerError, code, "We encountered an internal error. Please try again.")
	case Unavailable:
		writeError(w, r, req, http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable. Please try again later.")
	case Error:
		status := rule.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		writeError(w, r, req, status, rule.Code, rule.Message)
	case Respond:
		status := rule.Status
		if status == 0 {
			status = http.StatusOK
		}
		if isJSON(r) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			w.Header().Set("Content-Type", "text/xml")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(rule.Body)))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, rule.Body)
	case Reset:
		resetConn(w)
	case Truncate:
		p.forward(w, r, body, true)
	case Hang:
		select {
		case <-r.Context().Done():
		case <-p.closing:
		}
		resetConn(w)
	}
}

func isJSON(r *http.Request) bool { return r.Header.Get("X-Amz-Target") != "" }

func throttleCode(req Request) string {
	switch req.Service {
	case "ec2":
		return "RequestLimitExceeded"
	case "sts":
		return "Throttling"
	}
	return "ThrottlingException"
}

// writeError answers in the error shape of the request's protocol: AWS JSON
// 1.1 ("__type"), EC2 query XML (Response/Errors/Error), or the awsQuery XML
// of STS and others (ErrorResponse/Error).
func writeError(w http.ResponseWriter, r *http.Request, req Request, status int, code, message string) {
	h := w.Header()
	h.Set("X-Amzn-Requestid", "00000000-0000-0000-0000-faultproxy00")
	switch {
	case isJSON(r):
		h.Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":%s,"message":%s}`, jsonString(code), jsonString(message))
	case req.Service == "ec2":
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>00000000-0000-0000-0000-faultproxy00</RequestID></Response>`, xmlText(code), xmlText(message))
	default:
		h.Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-0000-0000-faultproxy00</RequestId></ErrorResponse>`, typ, xmlText(code), xmlText(message))
	}
}

func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// resetConn closes the client connection with a TCP RST and no response.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, body []byte, truncate bool) {
	out := r.Clone(context.WithoutCancel(r.Context()))
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out = out.WithContext(ctx)
	out.RequestURI = ""
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	out.Host = p.target.Host
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, "faultproxy: upstream body: "+err.Error(), http.StatusBadGateway)
		return
	}
	if truncate {
		writeTruncated(w, resp, data)
		return
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(data)
}

// writeTruncated sends the response with its full Content-Length but half of
// its body, then closes the connection: what a client sees when a connection
// drops mid-response.
func writeTruncated(w http.ResponseWriter, resp *http.Response, data []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: response writer cannot hijack")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	for k, vs := range resp.Header {
		if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") || strings.EqualFold(k, "Connection") {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(buf, "%s: %s\r\n", k, v)
		}
	}
	full := len(data)
	if full < 2 {
		full = 2 // always promise more than is sent
	}
	fmt.Fprintf(buf, "Content-Length: %d\r\n\r\n", full)
	_, _ = buf.Write(data[:len(data)/2])
	_ = buf.Flush()
}
