package github

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/github/fakegithub"
)

// A code scanning that never finishes processing: the upload must come back
// at once, with its id, having neither slept nor asked for the status.
func TestUploadSARIFDoesNotWaitForProcessing(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	fake.SetProcessing(fakegithub.ProcessingStatus{Status: "pending"})
	c, sl := newClient(t, fake, pushEnv(), nil)

	up, err := c.UploadSARIF(context.Background(), []byte(sarifDoc), UploadOptions{})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if up.ID == "" || up.Status != StatusPending {
		t.Errorf("upload = %+v, want an id and status pending", up)
	}
	if len(fake.Uploads()) != 1 {
		t.Errorf("uploads = %d, want 1", len(fake.Uploads()))
	}
	if n := len(fake.Calls(fakegithub.OpGetSARIF)); n != 0 {
		t.Errorf("status requests = %d, want 0", n)
	}
	if n := len(sl.all()); n != 0 {
		t.Errorf("sleeps = %v, want none", sl.all())
	}
}

// Waiting on an upload that stays pending stops at the bound: exactly
// ceil(bound/interval) status requests, a timeout warning naming the id, and
// the last status read.
func TestWaitProcessedIsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		bound     time.Duration
		wantPolls int
	}{
		{"injected bound", 3 * time.Second, 3},
		{"bound not a multiple of the interval", 2500 * time.Millisecond, 3},
		{"bound below one interval still asks once", time.Millisecond, 1},
		{"zero: the client's PollTimeout (4s at 1s)", 0, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := fakegithub.New(t, fakegithub.Options{})
			fake.SetProcessing(fakegithub.ProcessingStatus{Status: "pending"})
			c, sl := newClient(t, fake, pushEnv(), nil)
			up, err := c.UploadSARIF(context.Background(), []byte(sarifDoc), UploadOptions{})
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			got, err := c.WaitProcessed(context.Background(), up, tc.bound)
			if w := asWarning(t, err); w.Kind != KindTimeout || !strings.Contains(w.Error(), up.ID) {
				t.Errorf("warning = %v (%s), want a timeout naming %s", w, w.Kind, up.ID)
			}
			if got.Status != StatusPending || got.ID != up.ID {
				t.Errorf("upload after waiting = %+v", got)
			}
			if n := len(fake.Calls(fakegithub.OpGetSARIF)); n != tc.wantPolls {
				t.Errorf("status requests = %d, want %d", n, tc.wantPolls)
			}
			for _, d := range sl.all() {
				if d != time.Second {
					t.Errorf("slept %s between polls, want the 1s interval", d)
				}
			}
		})
	}
}

// A cancelled context ends the wait before any status request.
func TestWaitProcessedStopsWithContext(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	fake.SetProcessing(fakegithub.ProcessingStatus{Status: "pending"})
	c, _ := newClient(t, fake, pushEnv(), nil)
	up, err := c.UploadSARIF(context.Background(), []byte(sarifDoc), UploadOptions{})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := c.WaitProcessed(ctx, up, time.Hour)
	asWarning(t, err)
	if got.Status != StatusPending {
		t.Errorf("status = %q, want pending", got.Status)
	}
	if n := len(fake.Calls(fakegithub.OpGetSARIF)); n != 0 {
		t.Errorf("status requests = %d after cancel, want 0", n)
	}
}

func TestWaitProcessedWithoutID(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, fakegithub.Options{})
	c, _ := newClient(t, fake, pushEnv(), nil)
	if _, err := c.WaitProcessed(context.Background(), Upload{}, time.Second); asWarning(t, err).Kind != KindSkipped {
		t.Errorf("waiting without an id: %v, want a skip", err)
	}
	if n := len(fake.Calls(fakegithub.OpGetSARIF)); n != 0 {
		t.Errorf("status requests = %d, want 0", n)
	}
}
