package fakegithub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
)

func TestAuthenticatedUser(t *testing.T) {
	t.Parallel()
	for login, want := range map[string]int{"octo-dev": 200, "github-actions[bot]": 403, "kdg-app[bot]": 403} {
		s := New(t, Options{Login: login})
		status, _, body := do(t, s, "GET", "/user", nil)
		if status != want {
			t.Errorf("%s: GET /user = %d, want %d", login, status, want)
			continue
		}
		var u struct{ Login, Message string }
		if err := json.Unmarshal(body, &u); err != nil {
			t.Fatal(err)
		}
		if want == 200 && u.Login != login || want == 403 && u.Message != "Resource not accessible by integration" {
			t.Errorf("%s: body %s", login, body)
		}
	}
}

func TestViewerQuery(t *testing.T) {
	t.Parallel()
	s := New(t, Options{Login: "kdg-app[bot]"})
	req, _ := http.NewRequest("POST", s.URL+"/graphql", bytes.NewReader([]byte(`{"query":"query { viewer { login } }"}`)))
	req.Header.Set("Authorization", "Bearer ghs_x")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct{ Viewer struct{ Login string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.Viewer.Login != "kdg-app[bot]" {
		t.Errorf("viewer = %+v, %v", out, err)
	}
	if c := s.Calls("graphql"); len(c) != 1 || c[0].Status != 200 {
		t.Errorf("calls %+v", c)
	}
}

func TestContents(t *testing.T) {
	t.Parallel()
	s := New(t, Options{})
	base := "1111111111111111111111111111111111111111"
	s.AddFile(base, ".github/kms-deletion-gate.yml", "allow: []\n")
	status, _, body := do(t, s, "GET", "/repos/octo-org/demo/contents/.github/kms-deletion-gate.yml?ref="+base, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var f struct{ Path, Encoding, Content string }
	if err := json.Unmarshal(body, &f); err != nil {
		t.Fatal(err)
	}
	got, err := base64.StdEncoding.DecodeString(f.Content)
	if err != nil || string(got) != "allow: []\n" || f.Path != ".github/kms-deletion-gate.yml" || f.Encoding != "base64" {
		t.Errorf("file %+v (%q, %v)", f, got, err)
	}
	if status, _, _ := do(t, s, "GET", "/repos/octo-org/demo/contents/.github/kms-deletion-gate.yml?ref=main", nil); status != 404 {
		t.Errorf("another ref: %d, want 404", status)
	}
}
