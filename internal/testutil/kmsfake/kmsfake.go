// Package kmsfake is an httptest server that speaks the AWS KMS JSON 1.1
// protocol for the calls the scan makes (ListKeys, DescribeKey, ListAliases,
// ListResourceTags), as the AWS KMS API reference documents them: paging with
// Limit/Marker/NextMarker/Truncated (ListKeys Limit 1..1000, default 100),
// KeyMetadata fields, and errors as {"__type": ..., "message": ...}. It covers
// what moto lacks: paging, AWS managed keys, and PendingReplicaDeletion.
package kmsfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Key is one key the fake serves.
type Key struct {
	ID           string
	Account      string
	Region       string
	Manager      string // "CUSTOMER" (default) or "AWS"
	State        string // "Enabled" (default), "PendingDeletion", ...
	Description  string
	DeletionDate time.Time
	// PendingWindowDays is served as PendingDeletionWindowInDays (only for
	// PendingReplicaDeletion, as AWS does).
	PendingWindowDays int
	MultiRegion       bool
	Aliases           []string
	Tags              map[string]string
	Created           time.Time
}

// ARN returns the key's ARN.
func (k Key) ARN() string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", k.Region, k.Account, k.ID)
}

// Server is the fake KMS.
type Server struct {
	*httptest.Server
	mu    sync.Mutex
	keys  map[string][]Key // by region
	calls map[string]int   // by operation
	// FailRegion makes every call in the region answer this status and error type.
	failRegion map[string]fault
	failOp     map[string]fault
	hangRegion map[string]bool
}

type fault struct {
	status int
	kind   string
}

// Start starts a fake serving keys; it stops when the test ends.
func Start(t testing.TB, keys []Key) *Server {
	s := &Server{keys: map[string][]Key{}, calls: map[string]int{}, failRegion: map[string]fault{}, failOp: map[string]fault{}, hangRegion: map[string]bool{}}
	for _, k := range keys {
		k.Account = cmp.Or(k.Account, "111122223333")
		k.Manager = cmp.Or(k.Manager, "CUSTOMER")
		k.State = cmp.Or(k.State, "Enabled")
		if k.Created.IsZero() {
			k.Created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		}
		s.keys[k.Region] = append(s.keys[k.Region], k)
	}
	for r := range s.keys {
		sort.Slice(s.keys[r], func(i, j int) bool { return s.keys[r][i].ID < s.keys[r][j].ID })
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// FailRegion makes every call in region fail with an HTTP status and an AWS
// error type, e.g. (403, "AccessDeniedException").
func (s *Server) FailRegion(region string, status int, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRegion[region] = fault{status, kind}
}

// FailOperation makes every call of operation (e.g. "ListResourceTags") fail
// with an HTTP status and an AWS error type.
func (s *Server) FailOperation(operation string, status int, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOp[operation] = fault{status, kind}
}

// HangRegion makes every call in region wait, unanswered, until the client
// gives up (its context ends or the test server closes).
func (s *Server) HangRegion(region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangRegion[region] = true
}

// Calls returns how many times operation (e.g. "DescribeKey") was called.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// TotalCalls returns the number of calls of every operation.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// regionOf reads the region from the SigV4 credential scope:
// Credential=AKID/20260101/us-east-1/kms/aws4_request.
func regionOf(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	parts := strings.Split(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "TrentService.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "unknown operation "+target)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeError(w, http.StatusBadRequest, "SerializationException", "bad content type "+ct)
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	region := regionOf(r)
	s.mu.Lock()
	s.calls[op]++
	f, failing := s.failRegion[region]
	of, opFailing := s.failOp[op]
	hang := s.hangRegion[region]
	keys := s.keys[region]
	s.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	if failing {
		writeError(w, f.status, f.kind, "injected failure in "+region)
		return
	}
	if opFailing {
		writeError(w, of.status, of.kind, "injected failure of "+op)
		return
	}
	switch op {
	case "ListKeys":
		listKeys(w, in, keys)
	case "DescribeKey":
		describeKey(w, in, keys)
	case "ListAliases":
		listAliases(w, in, keys)
	case "ListResourceTags":
		listResourceTags(w, in, keys)
	default:
		writeError(w, 400, "UnknownOperationException", "not implemented by the fake: "+op)
	}
}

func listKeys(w http.ResponseWriter, in map[string]any, keys []Key) {
	limit, start, err := paging(in, 100, 1000)
	if err != nil {
		writeError(w, 400, "ValidationException", err.Error())
		return
	}
	end := min(start+limit, len(keys))
	out := map[string]any{"Truncated": end < len(keys)}
	entries := []map[string]string{}
	for _, k := range keys[start:end] {
		entries = append(entries, map[string]string{"KeyId": k.ID, "KeyArn": k.ARN()})
	}
	out["Keys"] = entries
	if end < len(keys) {
		out["NextMarker"] = marker(end)
	}
	writeJSON(w, out)
}

func describeKey(w http.ResponseWriter, in map[string]any, keys []Key) {
	k, found := find(keys, str(in["KeyId"]))
	if !found {
		writeError(w, 400, "NotFoundException", "Key '"+str(in["KeyId"])+"' does not exist")
		return
	}
	md := map[string]any{
		"AWSAccountId": k.Account, "Arn": k.ARN(), "KeyId": k.ID,
		"CreationDate": epoch(k.Created), "Description": k.Description,
		"Enabled": k.State == "Enabled", "KeyManager": k.Manager, "KeyState": k.State,
		"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS",
		"MultiRegion": k.MultiRegion,
	}
	if !k.DeletionDate.IsZero() && k.State == "PendingDeletion" {
		md["DeletionDate"] = epoch(k.DeletionDate)
	}
	if k.State == "PendingReplicaDeletion" && k.PendingWindowDays > 0 {
		md["PendingDeletionWindowInDays"] = k.PendingWindowDays
	}
	writeJSON(w, map[string]any{"KeyMetadata": md})
}

func listAliases(w http.ResponseWriter, in map[string]any, keys []Key) {
	var all []map[string]any
	for _, k := range keys {
		for _, a := range k.Aliases {
			all = append(all, map[string]any{
				"AliasName": a, "TargetKeyId": k.ID,
				"AliasArn": fmt.Sprintf("arn:aws:kms:%s:%s:%s", k.Region, k.Account, a),
			})
		}
	}
	limit, start, err := paging(in, 50, 100)
	if err != nil {
		writeError(w, 400, "ValidationException", err.Error())
		return
	}
	end := min(start+limit, len(all))
	out := map[string]any{"Aliases": nonNil(all[min(start, len(all)):end]), "Truncated": end < len(all)}
	if end < len(all) {
		out["NextMarker"] = marker(end)
	}
	writeJSON(w, out)
}

func listResourceTags(w http.ResponseWriter, in map[string]any, keys []Key) {
	k, found := find(keys, str(in["KeyId"]))
	if !found {
		writeError(w, 400, "NotFoundException", "Key does not exist")
		return
	}
	names := make([]string, 0, len(k.Tags))
	for n := range k.Tags {
		names = append(names, n)
	}
	sort.Strings(names)
	tags := []map[string]string{}
	for _, n := range names {
		tags = append(tags, map[string]string{"TagKey": n, "TagValue": k.Tags[n]})
	}
	writeJSON(w, map[string]any{"Tags": tags, "Truncated": false})
}

func nonNil(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}

func find(keys []Key, id string) (Key, bool) {
	id = strings.TrimPrefix(id[strings.LastIndex(id, "/")+1:], "")
	for _, k := range keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

func paging(in map[string]any, def, max int) (limit, start int, err error) {
	limit = def
	if v, ok := in["Limit"]; ok {
		f, _ := v.(float64)
		limit = int(f)
		if limit < 1 || limit > max {
			return 0, 0, fmt.Errorf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to %d", limit, max)
		}
	}
	if m := str(in["Marker"]); m != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(m, "m-"))
		if err != nil || !strings.HasPrefix(m, "m-") {
			return 0, 0, fmt.Errorf("invalid marker")
		}
		start = n
	}
	return limit, start, nil
}

func marker(n int) string { return "m-" + strconv.Itoa(n) }

func str(v any) string {
	s, _ := v.(string)
	return s
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, kind, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", kind)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": kind, "message": msg})
}
