package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/audit"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/report/testfixture"
)

// secretPath is the token part of a webhook URL, as Slack's are built.
const secretPath = "/services/T0001/B0002/s3cr3tW3bh00kT0k3n"

// hook is a local webhook that answers from a script, one entry per request
// (the last repeating): a status, "drop" (close the connection) or "slow".
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	script []string
	bodies [][]byte
	hits   atomic.Int32
	slow   chan struct{} // closed at cleanup to release slow handlers
}

func newHook(t *testing.T, script ...string) *hook {
	t.Helper()
	h := &hook{script: script, slow: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(h.hits.Add(1)) - 1
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		step := h.script[min(n, len(h.script)-1)]
		h.mu.Unlock()
		if r.URL.Path != secretPath || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		switch step {
		case "drop":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case "slow":
			select {
			case <-r.Context().Done():
			case <-h.slow:
			}
		case "429":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "400":
			w.WriteHeader(http.StatusBadRequest)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	t.Cleanup(func() { close(h.slow); h.srv.Close() })
	return h
}

func (h *hook) url() string { return h.srv.URL + secretPath + "?token=also-secret" }

// opts records waits and log lines instead of sleeping.
func opts(h *hook, waits *[]time.Duration, logs *[]string) Options {
	return Options{
		URL: h.url(), MaxAttempts: 4, AttemptTimeout: 2 * time.Second, MaxElapsed: time.Minute, BaseDelay: time.Second,
		Sleep:  func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil },
		Jitter: func() float64 { return 0.5 },
		Log:    func(s string) { *logs = append(*logs, s) },
	}
}

func assertNoSecret(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, "s3cr3tW3bh00kT0k3n") || strings.Contains(s, "also-secret") || strings.Contains(s, secretPath) {
			t.Errorf("the webhook URL leaked: %q", s)
		}
	}
}

func TestRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		script    []string
		wantHits  int32
		wantWaits []time.Duration
	}{
		{"first try", []string{"200"}, 1, nil},
		{"5xx then success", []string{"500", "503", "200"}, 3, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}},
		{"dropped connection then success", []string{"drop", "200"}, 2, []time.Duration{750 * time.Millisecond}},
		{"429 honours Retry-After", []string{"429", "200"}, 2, []time.Duration{2 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHook(t, tc.script...)
			var waits []time.Duration
			var logs []string
			res, err := Send(context.Background(), opts(h, &waits, &logs), []byte(`{"text":"hi"}`))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if h.hits.Load() != tc.wantHits || res.Attempts != int(tc.wantHits) {
				t.Errorf("%d requests, %d attempts; want %d", h.hits.Load(), res.Attempts, tc.wantHits)
			}
			if len(waits) != len(tc.wantWaits) {
				t.Fatalf("waits %v, want %v", waits, tc.wantWaits)
			}
			for i := range waits {
				if waits[i] != tc.wantWaits[i] {
					t.Errorf("wait %d = %s, want %s", i, waits[i], tc.wantWaits[i])
				}
			}
			if string(h.bodies[len(h.bodies)-1]) != `{"text":"hi"}` {
				t.Errorf("body %q", h.bodies[len(h.bodies)-1])
			}
			assertNoSecret(t, logs...)
		})
	}
}

func TestGivesUpWithoutLeakingTheURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   []string
		mod      func(*Options)
		wantHits int32
		want     string
	}{
		{"5xx every time", []string{"500"}, nil, 4, "answered 500"},
		{"4xx is final", []string{"400"}, nil, 1, "answered 400"},
		{"dropped every time", []string{"drop"}, nil, 4, "EOF"},
		// Slow answers: each attempt ends at AttemptTimeout, and the whole
		// delivery stops at MaxElapsed however many attempts remain.
		{"slow beyond the attempt bound", []string{"slow"}, func(o *Options) {
			o.AttemptTimeout = 50 * time.Millisecond
			o.MaxAttempts = 3
		}, 3, "deadline exceeded"},
		{"slow beyond the total bound", []string{"slow"}, func(o *Options) {
			o.AttemptTimeout = 30 * time.Millisecond
			o.MaxElapsed = 100 * time.Millisecond
			o.MaxAttempts = 50
			o.BaseDelay = 10 * time.Millisecond
			o.Sleep = func(ctx context.Context, d time.Duration) error { return nil }
		}, -1, "deadline exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHook(t, tc.script...)
			var waits []time.Duration
			var logs []string
			o := opts(h, &waits, &logs)
			if tc.mod != nil {
				tc.mod(&o)
			}
			_, err := Send(context.Background(), o, []byte(`{}`))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %q, want it to mention %q", err, tc.want)
			}
			hits := h.hits.Load()
			if tc.wantHits >= 0 && hits != tc.wantHits {
				t.Errorf("%d requests, want %d", hits, tc.wantHits)
			}
			if hits < 1 || int(hits) > o.MaxAttempts || e.Attempts != int(hits) {
				t.Errorf("%d requests, %d attempts reported, bound %d", hits, e.Attempts, o.MaxAttempts)
			}
			assertNoSecret(t, append(logs, err.Error())...)
		})
	}
}

func TestRejectsBadURLWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"ftp://hooks.example/" + secretPath, "not a url " + secretPath, ""} {
		_, err := Send(context.Background(), Options{URL: u}, []byte(`{}`))
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		assertNoSecret(t, err.Error())
	}
}

func TestPayload(t *testing.T) {
	t.Parallel()
	res := testfixture.Hostile()
	ch := audit.Changes{Known: true, New: []audit.Change{{Kind: audit.ChangeNew, Account: "1", Region: "r", KeyID: "k", To: 4}}}
	in := Input{Result: res, Changes: &ch, Category: "prod <!channel>", Repository: "octo-org/demo", RunURL: "https://github.com/octo-org/demo/actions/runs/42", ToolVersion: "1.2.3"}
	if !ShouldSend(in) {
		t.Error("a failed run is not sent")
	}
	b, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Text   string `json:"text"`
		Report struct {
			Result   string `json:"result"`
			Findings []struct {
				KeyID string `json:"key_id"`
			} `json:"findings"`
			Changes struct {
				New []ChangedKey `json:"new"`
			} `json:"changes"`
		} `json:"kms_deletion_gate"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Report.Result != "fail" || len(p.Report.Findings) != len(res.Findings) || len(p.Report.Changes.New) != 1 {
		t.Errorf("report = %+v", p.Report)
	}
	for _, want := range []string{"❌ *kms-deletion-gate* (prod &lt;!channel&gt;)", "1 critical, 1 high", "1 new", "<https://github.com/octo-org/demo/actions/runs/42|See the run>"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, p.Text)
		}
	}
	// Slack's control characters only appear in the one link we made.
	if strings.Count(p.Text, "<") != 1 || strings.Contains(p.Text, "\x1b") || strings.Contains(p.Text, "\u202e") {
		t.Errorf("hostile text reached the Slack text raw:\n%s", p.Text)
	}

	passed := testfixture.Result()
	passed.Findings, passed.Errors, passed.Passed = nil, nil, true
	if ShouldSend(Input{Result: passed}) || ShouldSend(Input{Result: passed, Changes: &audit.Changes{Known: true}}) {
		t.Error("a passing, complete, unchanged run is sent")
	}
	if !ShouldSend(Input{Result: passed, Changes: &ch}) {
		t.Error("a passing run with changes is not sent")
	}
}
