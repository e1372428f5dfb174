package moto

import (
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// TestLaunchRefusesATakenPort: when another server holds the port (an
// httptest server of a parallel test, say), moto exits and launch reports it
// instead of taking the other server's answers for moto's.
func TestLaunchRefusesATakenPort(t *testing.T) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		Start(t) // skips outside CI, fails under CI=true
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusNotFound)
	})}
	go func() { _ = other.Serve(l) }()
	t.Cleanup(func() { _ = other.Close() })
	port := l.Addr().(*net.TCPAddr).Port

	if isMoto(http.DefaultClient, "http://"+l.Addr().String()) {
		t.Fatal("another server's answer was taken for moto's")
	}
	s, why := launch(t, bin, port)
	if s != nil {
		t.Fatalf("launch on a taken port returned a server at %s", s.URL)
	}
	if !strings.Contains(why, "exited") {
		t.Errorf("reason %q does not say moto exited", why)
	}

	got := Start(t)
	if got.URL == "http://"+l.Addr().String() || !isMoto(http.DefaultClient, got.URL) {
		t.Errorf("Start returned %s, which is not a moto of its own", got.URL)
	}
}

func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	for i := 0; i < 20; i++ {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < 20000 || p > 32767 {
			t.Fatalf("port %d outside 20000-32767", p)
		}
	}
}
