package github

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/wait"
)

// scripted answers each attempt from a list: a status (with headers and
// body) or an error.
type scripted struct {
	answers []func(*http.Request) (*http.Response, error)
	bodies  []string
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	var body string
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}
	s.bodies = append(s.bodies, body)
	i := min(len(s.bodies)-1, len(s.answers)-1)
	return s.answers[i](r)
}

func status(code int, hdr map[string]string, body string) func(*http.Request) (*http.Response, error) {
	return func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		for k, v := range hdr {
			h.Set(k, v)
		}
		return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
}

func fail(err error) func(*http.Request) (*http.Response, error) {
	return func(*http.Request) (*http.Response, error) { return nil, err }
}

func TestRetryTransport(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	resetErr := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	//nolint:bodyclose // the answers' bodies are closed by the transport under test or below
	tests := []struct {
		name       string
		method     string
		answers    []func(*http.Request) (*http.Response, error)
		wantTries  int
		wantStatus int // 0: an error
		wantWaits  []time.Duration
	}{
		{"200 once", "GET", []func(*http.Request) (*http.Response, error){status(200, nil, "{}")}, 1, 200, nil},
		{"plain 403 not retried", "POST", []func(*http.Request) (*http.Response, error){status(403, nil, `{"message":"Resource not accessible by integration"}`)}, 1, 403, nil},
		{"404 not retried", "GET", []func(*http.Request) (*http.Response, error){status(404, nil, `{}`)}, 1, 404, nil},
		{"secondary limit without Retry-After waits a minute", "POST", []func(*http.Request) (*http.Response, error){
			status(403, nil, `{"message":"You have exceeded a secondary rate limit."}`), status(201, nil, "{}")}, 2, 201, []time.Duration{time.Minute}},
		{"primary limit waits for reset", "GET", []func(*http.Request) (*http.Response, error){
			status(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Unix()+30, 10)}, `{}`), status(200, nil, "{}")}, 2, 200, []time.Duration{30 * time.Second}},
		{"primary limit reset too far: give up", "GET", []func(*http.Request) (*http.Response, error){
			status(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(now.Unix()+3600, 10)}, `{}`)}, 1, 403, nil},
		{"503 Retry-After as a date", "PATCH", []func(*http.Request) (*http.Response, error){
			status(503, map[string]string{"Retry-After": now.Add(7 * time.Second).UTC().Format(http.TimeFormat)}, `{}`), status(200, nil, "{}")}, 2, 200, []time.Duration{7 * time.Second}},
		{"5xx bounded", "GET", []func(*http.Request) (*http.Response, error){status(502, nil, "")}, 4, 502, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"GET retried on reset connection", "GET", []func(*http.Request) (*http.Response, error){fail(resetErr), status(200, nil, "{}")}, 2, 200, []time.Duration{time.Second}},
		{"POST not replayed after the connection dropped", "POST", []func(*http.Request) (*http.Response, error){fail(resetErr), status(201, nil, "{}")}, 1, 0, nil},
		{"POST retried when it never connected", "POST", []func(*http.Request) (*http.Response, error){fail(dialErr), status(201, nil, "{}")}, 2, 201, []time.Duration{time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := &scripted{answers: tc.answers}
			sl := &sleeps{}
			rt := &retryTransport{base: sc, maxRetries: 3, maxWait: time.Minute, attempt: time.Minute, sleep: sl.sleep, now: func() time.Time { return now }}
			req, _ := http.NewRequest(tc.method, "http://127.0.0.1:1/x", strings.NewReader(`{"body":"same every time"}`))
			resp, err := rt.RoundTrip(req)
			if tc.wantStatus == 0 {
				if err == nil {
					t.Fatalf("want an error, got %d", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				// The last answer's body is still readable for go-github.
				if _, err := io.ReadAll(resp.Body); err != nil {
					t.Errorf("body: %v", err)
				}
				resp.Body.Close()
			}
			if len(sc.bodies) != tc.wantTries {
				t.Errorf("tries = %d, want %d", len(sc.bodies), tc.wantTries)
			}
			for i, b := range sc.bodies {
				if b != `{"body":"same every time"}` {
					t.Errorf("try %d sent body %q", i, b)
				}
			}
			if got := sl.all(); len(got) != len(tc.wantWaits) || (len(got) > 0 && !equalDurations(got, tc.wantWaits)) {
				t.Errorf("waits = %v, want %v", got, tc.wantWaits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetryStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	sc := &scripted{answers: []func(*http.Request) (*http.Response, error){status(503, nil, "")}} //nolint:bodyclose // closed by the transport
	rt := &retryTransport{base: sc, maxRetries: 3, maxWait: time.Minute, attempt: time.Minute, now: time.Now,
		sleep: func(ctx context.Context, d time.Duration) error { cancel(); return wait.Sleep(ctx, d) }}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:1/x", nil)
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if len(sc.bodies) != 1 {
		t.Errorf("tries = %d, want 1", len(sc.bodies))
	}
}

func TestEqualJitterSpreadAndBounded(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{time.Second, 8 * time.Second, time.Minute} {
		seen := map[time.Duration]bool{}
		for range 1000 {
			got := equalJitter(d)
			if got < d/2 || got > d {
				t.Fatalf("equalJitter(%v) = %v, outside [%v, %v]", d, got, d/2, d)
			}
			seen[got] = true
		}
		// 1000 draws over a range of d/2 nanoseconds: lockstep would give one value.
		if len(seen) < 900 {
			t.Errorf("equalJitter(%v): only %d distinct waits in 1000 draws", d, len(seen))
		}
	}
}

func TestRetryBackoffIsJittered(t *testing.T) {
	t.Parallel()
	waits := map[time.Duration]bool{}
	for range 50 {
		//nolint:bodyclose // the answers' bodies are closed by the transport under test or below
		sc := &scripted{answers: []func(*http.Request) (*http.Response, error){status(502, nil, "")}}
		sl := &sleeps{}
		rt := &retryTransport{base: sc, maxRetries: 3, maxWait: time.Minute, attempt: time.Minute, sleep: sl.sleep, now: time.Now, jitter: equalJitter}
		req, _ := http.NewRequest("GET", "http://127.0.0.1:1/x", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := sl.all()
		if len(got) != 3 {
			t.Fatalf("waits = %v, want 3", got)
		}
		for i, w := range got {
			full := time.Second << i
			if w < full/2 || w > full {
				t.Errorf("wait %d = %v, want within [%v, %v]", i, w, full/2, full)
			}
		}
		waits[got[0]] = true
	}
	if len(waits) < 40 {
		t.Errorf("50 shards failing together chose only %d distinct first waits", len(waits))
	}
}
