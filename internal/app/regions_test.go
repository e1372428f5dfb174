package app_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/app"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/faultproxy"
	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/moto"
)

// awsNetwork answers for AWS's DNS: the SDK resolves its real endpoints
// (https://kms.REGION.amazonaws.com, no endpoint override), and each host
// in hosts is served, over plain TCP, by the loopback address it maps to;
// any other name does not exist (NXDOMAIN), as a region that does not
// exist has no endpoint.
func awsNetwork(hosts map[string]string) *http.Client {
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		target, ok := hosts[host]
		if !ok {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", target)
	}
	// DialTLSContext's connection counts as past the TLS handshake: the
	// https requests reach the plain-HTTP emulator unchanged.
	return &http.Client{Transport: &http.Transport{DialContext: dial, DialTLSContext: dial}}
}

func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// A region name of the right shape that the pinned SDK does not list
// (ap-future-9) is scanned, with a warning, not refused (exit 2). Where its
// endpoint answers, the scan covers it; where the endpoint does not exist,
// that target fails and the run exits 3: never a pass.
func TestRegionUnknownToTheSDK(t *testing.T) {
	srv := moto.Start(t)
	setAWSEnv(t, srv)
	// No endpoint override; and AWS_CA_BUNDLE (set on some machines) cannot
	// apply to a custom HTTP client.
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	srv.Seed(t, "us-east-1", moto.Key{Description: "pending", PendingDays: 20})
	// moto serves only the regions it knows: in front of it, ap-future-9's
	// ListKeys answers an empty account, in the API reference's shape.
	proxy, err := faultproxy.New(srv.URL, faultproxy.Rule{Region: "ap-future-9", Operation: "ListKeys", Fault: faultproxy.Respond,
		Body: `{"Keys":[],"Truncated":false}`, Emulate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	via := hostPort(t, proxy.URL)
	known := map[string]string{"sts.us-east-1.amazonaws.com": via, "kms.us-east-1.amazonaws.com": via}

	run := func(t *testing.T, hosts map[string]string) (int, string) {
		t.Helper()
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args := []string{"--regions", "us-east-1,ap-future-9", "--cloudtrail", "false", "--upload-sarif", "false", "--comment", "off",
			"--report-json", filepath.Join(dir, "r.json"), "--sarif-file", filepath.Join(dir, "r.sarif")}
		code := app.Run(ctx, app.Deps{Args: args, Getenv: os.Getenv, Stdout: &stdout, Stderr: &stderr, Version: "test", HTTPClient: awsNetwork(hosts)})
		return code, stderr.String()
	}

	t.Run("endpoint answers: scanned, with a warning", func(t *testing.T) {
		hosts := map[string]string{"kms.ap-future-9.amazonaws.com": via}
		for h, a := range known {
			hosts[h] = a
		}
		proxy.ResetCounts()
		code, log := run(t, hosts)
		if code != app.ExitFail {
			t.Fatalf("exit %d, want %d (the us-east-1 key fails the gate)\n%s", code, app.ExitFail, log)
		}
		if !strings.Contains(log, "region ap-future-9 is not a region of partition aws") {
			t.Errorf("no warning about ap-future-9:\n%s", log)
		}
		if n := proxy.Count("ListKeys", "ap-future-9"); n != 1 {
			t.Errorf("ListKeys in ap-future-9: %d, want 1 (%s)", n, proxy.CountsText())
		}
	})

	t.Run("no endpoint: that target fails, exit 3", func(t *testing.T) {
		proxy.ResetCounts()
		code, log := run(t, known)
		if code != app.ExitIncomplete {
			t.Fatalf("exit %d, want %d\n%s", code, app.ExitIncomplete, log)
		}
		if !strings.Contains(log, "ap-future-9") || !strings.Contains(log, "could not scan") {
			t.Errorf("the log does not name the region that failed:\n%s", log)
		}
		if n := proxy.Count("ListKeys", "us-east-1"); n != 1 {
			t.Errorf("us-east-1 was not scanned (%s)", proxy.CountsText())
		}
	})
}
