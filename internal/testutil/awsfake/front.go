package awsfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// TargetScheduleKeyDeletion is the call Front watches on its way to moto.
const TargetScheduleKeyDeletion = "TrentService.ScheduleKeyDeletion"

// ControlKeyLastUsage is the path where Front accepts a KeyLastUsage as JSON
// (POST; field names as in the Go struct, times in RFC 3339): how a script
// marks a key as used after seeding it.
const ControlKeyLastUsage = "/__awsfake/key-last-usage"

// maxRequest bounds the ScheduleKeyDeletion request and control bodies Front
// reads.
const maxRequest = 1 << 16

// Front returns a handler that answers GetKeyLastUsage and LookupEvents (and
// ControlKeyLastUsage) itself and passes every other request to next (moto).
// A ScheduleKeyDeletion that next answers with 200 is recorded as a
// CloudTrail event in the shape of the KMS Developer Guide's example, by the
// IAM user named after the request's access key id, so LookupEvents finds
// who scheduled every key scheduled through the front.
func (s *Server) Front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch target := r.Header.Get("X-Amz-Target"); {
		case r.URL.Path == ControlKeyLastUsage:
			s.control(w, r)
		case target == TargetGetKeyLastUsage || target == TargetLookupEvents || target == TargetLookupEventsFullName:
			s.serve(w, r)
		case target == TargetScheduleKeyDeletion:
			s.watchSchedule(w, r, next)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	var u KeyLastUsage
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil || u.KeyID == "" {
		http.Error(w, fmt.Sprintf("want a KeyLastUsage with a KeyID: %v", err), http.StatusBadRequest)
		return
	}
	s.SetKeyLastUsage(u)
	w.WriteHeader(http.StatusNoContent)
}

// watchSchedule forwards a ScheduleKeyDeletion and records it when it
// succeeded. Request: {"KeyId", "PendingWindowInDays"}; response: {"KeyId"
// (AWS: the key ARN; moto: as sent), "DeletionDate", ...}.
func (s *Server) watchSchedule(w http.ResponseWriter, r *http.Request, next http.Handler) {
	reqBody, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		http.Error(w, "awsfake: read request: "+err.Error(), http.StatusBadGateway)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	if rec.Code != http.StatusOK {
		return
	}
	var in struct {
		KeyId               string
		PendingWindowInDays *int
	}
	var out struct {
		KeyId        string
		DeletionDate *json.Number
	}
	if json.Unmarshal(reqBody, &in) != nil || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.DeletionDate == nil {
		return // moto answers 200 without a DeletionDate when it ignores a window
	}
	region, akid, _ := credentialScope(r.Header.Get("Authorization"))
	window := 30 // the API's default
	if in.PendingWindowInDays != nil {
		window = *in.PendingWindowInDays
	}
	keyARN := out.KeyId
	if !strings.HasPrefix(keyARN, "arn:") {
		keyARN = fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, DefaultAccount, keyIDOf(in.KeyId))
	}
	s.mu.Lock()
	s.recorded++
	eventID := fmt.Sprintf("5c4e0d3a-0000-4000-8000-%012d", s.recorded)
	at := s.now().UTC().Truncate(time.Second)
	s.mu.Unlock()
	record := ScheduleKeyDeletionRecord(eventID, keyARN, "arn:aws:iam::"+DefaultAccount+":user/"+akid, at, window)
	record.AccessKeyID = akid
	s.AddEvents(record.Event())
}
