// Package moto starts a real moto_server on a free loopback port for
// integration tests, and seeds it through the real AWS SDK.
package moto

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Server is a running moto_server.
type Server struct {
	URL string
}

// Start runs moto_server on a free 127.0.0.1 port and stops it when the test
// ends. Outside CI a missing moto_server skips the test; under CI=true it fails,
// because no integration test may skip there.
//
// The port is drawn below the kernel's ephemeral range, where httptest servers
// and outgoing connections of parallel tests take theirs, and the server counts
// as started only when moto itself answers its API; if another process took
// the port first, moto exits and Start tries another port.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server not found on PATH under CI=true: %v", err)
		}
		t.Skipf("moto_server not installed: %v", err)
	}
	var last string
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		s, why := launch(t, bin, port)
		if s != nil {
			return s
		}
		last = why
	}
	t.Fatalf("moto_server did not start after 5 ports: %s", last)
	return nil
}

// launch starts moto_server on port and waits for it to answer. It returns
// nil and the reason when moto exited (the port was taken) or never answered.
func launch(t testing.TB, bin string, port int) (*Server, string) {
	t.Helper()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=false")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Sprintf("moto_server exited on port %d:\n%s", port, out.String())
		default:
		}
		if isMoto(client, s.URL) {
			t.Cleanup(stop)
			return s, ""
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Sprintf("moto_server did not answer on port %d within 30s:\n%s", port, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// isMoto reports whether the server at url is moto: its API lists the models
// it holds as JSON. Another test's server on the same port answers otherwise.
func isMoto(c *http.Client, url string) bool {
	resp, err := c.Get(url + "/moto-api/data.json")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var models map[string]any
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&models) == nil
}

// Reset clears all of moto's state.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
}

// Config returns an AWS config for region that talks to this server with
// static test credentials (default account 123456789012).
func (s *Server) Config(region string) aws.Config {
	return Config(s.URL, region)
}

// Config returns an AWS config for region that talks to the moto_server at
// url (one a script started, say) with static test credentials.
func Config(url, region string) aws.Config {
	return aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 2,
	}
}

// Env returns environment variables that point the SDK's default chain at
// this server, for tests that run the whole program.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_ENDPOINT_URL_STS=" + s.URL,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Context returns a context bounded for integration tests.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// freePort returns a port that is free now, drawn from 20000-32767: below
// Linux's default ephemeral range (32768-60999), so servers that ask the
// kernel for any port (httptest, other tests' fakes) do not race for it.
func freePort() (int, error) {
	for i := 0; i < 100; i++ {
		port := 20000 + rand.IntN(32768-20000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port in 20000-32767 after 100 tries")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<16 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
