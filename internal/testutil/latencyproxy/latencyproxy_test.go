package latencyproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestProxyForwardsAndCounts(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen-Target", r.Header.Get("X-Amz-Target"))
		_, _ = w.Write(body)
	}))
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	p := New(u, time.Millisecond)
	p.Trace = true
	p.Front = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if Operation(r) == "ScheduleKeyDeletion" {
				http.Error(w, "intercepted", http.StatusTeapot)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	srv, err := Start("127.0.0.1:0", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	cases := []struct {
		name, target, contentType, body string
		wantStatus                      int
	}{
		{"json protocol", "TrentService.DescribeKey", "application/x-amz-json-1.1", `{"KeyId":"k1"}`, http.StatusOK},
		{"json protocol again", "TrentService.DescribeKey", "application/x-amz-json-1.1", `{"KeyId":"k2"}`, http.StatusOK},
		{"query protocol body", "", "application/x-www-form-urlencoded; charset=utf-8", "Action=GetCallerIdentity&Version=2011-06-15", http.StatusOK},
		{"intercepted", "TrentService.ScheduleKeyDeletion", "application/x-amz-json-1.1", `{}`, http.StatusTeapot},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.contentType)
		if c.target != "" {
			req.Header.Set("X-Amz-Target", c.target)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.wantStatus {
			t.Fatalf("%s: status %d, want %d", c.name, resp.StatusCode, c.wantStatus)
		}
		if c.wantStatus == http.StatusOK && string(got) != c.body {
			t.Errorf("%s: backend saw body %q, want %q (the proxy must forward it intact)", c.name, got, c.body)
		}
	}

	resp, err := http.Get(srv.URL + ControlPrefix + "counts")
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := map[string]int64{"DescribeKey": 2, "GetCallerIdentity": 1, "ScheduleKeyDeletion": 1}
	if snap.Total != 4 || len(snap.ByOperation) != len(want) {
		t.Fatalf("snapshot %+v, want total 4 and %v", snap, want)
	}
	for op, n := range want {
		if snap.ByOperation[op] != n {
			t.Errorf("%s counted %d times, want %d", op, snap.ByOperation[op], n)
		}
	}
	if snap.Connections < 1 || snap.MaxInFlight < 1 {
		t.Errorf("connections %d, max in flight %d: want both >= 1", snap.Connections, snap.MaxInFlight)
	}

	if ev := p.Events(); len(ev) != 4 || ev[3].Operation != "ScheduleKeyDeletion" || ev[3].Status != http.StatusTeapot || ev[0].End < ev[0].Start {
		t.Errorf("trace %+v: want the 4 requests in order with their status", ev)
	}

	resp, err = http.Post(srv.URL+ControlPrefix+"reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := p.Counts.Snapshot(); s.Total != 0 || s.Connections != 0 || len(p.Events()) != 0 {
		t.Errorf("after reset: %+v, want zero", s)
	}
}

func TestOperation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		req  func() *http.Request
		want string
	}{
		{"target header", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Amz-Target", "TrentService.ListKeys")
			return r
		}, "ListKeys"},
		{"query string", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/?Action=DescribeRegions&Version=2016-11-15", nil)
		}, "DescribeRegions"},
		{"neither", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/moto-api/", nil)
		}, "GET /moto-api/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Operation(c.req()); got != c.want {
				t.Errorf("Operation = %q, want %q", got, c.want)
			}
		})
	}
}
