// Package awsfake is the one emulation of the two calls moto_server lacks and
// deletion forensics needs: KMS GetKeyLastUsage and CloudTrail LookupEvents,
// spoken in the AWS JSON 1.1 protocol. Tests use it as an httptest server
// (New); proxies in front of moto (faultproxy, latencyproxy and its command,
// which the demo and the container proof run) put it in front of moto with
// Server.Front, which also records every ScheduleKeyDeletion that passes
// through as a CloudTrail event, so LookupEvents can say who scheduled a key. Requests and responses follow the
// shapes of the AWS API references and of aws-sdk-go-v2's own serializers
// (service/kms v1.62.4 request_snapshot, service/cloudtrail v1.56.0
// serializers.go), so the real SDK clients talk to it unchanged.
//
// The server routes on the X-Amz-Target header, scopes data by the region of
// the SigV4 credential scope, records every request (with a clock tests can
// replace) and injects documented errors (ThrottlingException,
// AccessDeniedException, ...) on demand.
package awsfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kms-deletion-gate/kms-deletion-gate/internal/testutil/sigv4"
)

// X-Amz-Target values. The Go SDK sends the short CloudTrail form; the long,
// fully qualified form appears in AWS's own examples and is accepted too.
const (
	TargetGetKeyLastUsage      = "TrentService.GetKeyLastUsage"
	TargetLookupEvents         = "CloudTrail_20131101.LookupEvents"
	TargetLookupEventsFullName = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
)

// Operation names as recorded in Request.Operation and used by Fault.Operation.
const (
	OpGetKeyLastUsage = "GetKeyLastUsage"
	OpLookupEvents    = "LookupEvents"
)

// DefaultAccount is the account that the test credentials of Config belong to
// (the same default as moto's).
const DefaultAccount = "123456789012"

// KeyLastUsage is what GetKeyLastUsage returns for one key. An empty Operation
// means no successful use since TrackingStartDate: the response then carries
// "KeyLastUsage": {} as the API reference documents.
type KeyLastUsage struct {
	Region            string // empty: every region
	KeyID             string // key id; the request may name it by id or ARN
	ARN               string
	Operation         string // e.g. "Decrypt"
	Timestamp         time.Time
	CloudTrailEventID string
	KMSRequestID      string
	TrackingStartDate time.Time
	KeyCreationDate   time.Time
}

// Event is one CloudTrail event as LookupEvents returns it. CloudTrailEvent
// is the raw JSON record; KMSRecord builds one in the documented shape.
type Event struct {
	Region          string // empty: every region
	EventID         string
	EventName       string
	EventSource     string
	EventTime       time.Time
	Username        string
	AccessKeyID     string
	ReadOnly        string // "true" or "false"
	Resources       []Resource
	CloudTrailEvent string
}

// Resource is one resource a CloudTrail event references.
type Resource struct {
	ResourceType string
	ResourceName string
}

// Fault makes matching requests fail with an AWS error.
type Fault struct {
	Operation string // OpGetKeyLastUsage or OpLookupEvents
	Region    string // empty: any region
	KeyID     string // GetKeyLastUsage only: empty for any key
	Code      string // e.g. "ThrottlingException"
	Message   string
	Status    int // HTTP status; 400 when zero
	Times     int // how many requests fail; 0 means every one
	used      int
}

// Request is one request the server received.
type Request struct {
	Operation   string
	Target      string
	Region      string // from the SigV4 credential scope
	AccessKeyID string
	Time        time.Time // Server.Now() on arrival
	Body        []byte
	Status      int
	ErrorCode   string // empty on success
}

// Server is the running fake. Its zero value is not usable: call New.
type Server struct {
	URL string

	mu       sync.Mutex
	now      func() time.Time
	pageSize int
	usage    []KeyLastUsage
	anyKey   *KeyLastUsage // answer for keys without their own usage; nil: NotFoundException
	recorded int           // ScheduleKeyDeletion events recorded by Front
	events   []Event
	faults   []*Fault
	requests []Request
}

// New starts a server on 127.0.0.1 and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := NewEmulator()
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// NewEmulator returns a server without a listener, to be put in front of
// another endpoint with Front. Its URL is empty.
func NewEmulator() *Server {
	return &Server{now: time.Now, pageSize: 50}
}

// Config returns an AWS config for region that talks to this server with
// static test credentials of DefaultAccount, and a standard retryer with short
// backoffs so retried throttling does not slow tests down.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 20 * time.Millisecond
			})
		},
	}
}

// SetClock replaces the clock that stamps recorded requests.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetPageSize caps the events per LookupEvents page below the request's
// MaxResults, as AWS may; it makes paging testable with few events.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SetKeyLastUsage adds or replaces the GetKeyLastUsage answer for a key.
func (s *Server) SetKeyLastUsage(u KeyLastUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.usage {
		if s.usage[i].KeyID == u.KeyID && s.usage[i].Region == u.Region {
			s.usage[i] = u
			return
		}
	}
	s.usage = append(s.usage, u)
}

// SetAnyKeyUsage makes GetKeyLastUsage answer u (with the requested key id)
// for every key that has no usage of its own, instead of NotFoundException:
// what a proxy in front of moto needs, since moto owns the keys.
func (s *Server) SetAnyKeyUsage(u KeyLastUsage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyKey = &u
}

// AddEvents adds CloudTrail events.
func (s *Server) AddEvents(events ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
}

// Inject adds a fault. Faults are matched in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Status == 0 {
		f.Status = http.StatusBadRequest
	}
	if f.Message == "" {
		f.Message = f.Code
	}
	s.faults = append(s.faults, &f)
}

// Requests returns the requests received for operation ("" for all), in
// arrival order.
func (s *Server) Requests(operation string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if operation == "" || r.Operation == operation {
			out = append(out, r)
		}
	}
	return out
}

type apiError struct {
	status  int
	code    string
	message string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	target := r.Header.Get("X-Amz-Target")
	region, akid, service := sigv4.CredentialScope(r.Header.Get("Authorization"))

	s.mu.Lock()
	req := Request{Target: target, Region: region, AccessKeyID: akid, Time: s.now(), Body: body}
	var (
		out  any
		aerr *apiError
	)
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		aerr = &apiError{http.StatusNotFound, "UnknownOperationException", "only POST / is served"}
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1"):
		aerr = &apiError{http.StatusBadRequest, "SerializationException", "Content-Type must be application/x-amz-json-1.1"}
	case target == TargetGetKeyLastUsage:
		req.Operation = OpGetKeyLastUsage
		if service != "kms" {
			aerr = &apiError{http.StatusBadRequest, "InvalidSignatureException", "credential scope service must be kms"}
		} else if aerr = s.fault(OpGetKeyLastUsage, region, body); aerr == nil {
			out, aerr = s.getKeyLastUsage(region, body)
		}
	case target == TargetLookupEvents || target == TargetLookupEventsFullName:
		req.Operation = OpLookupEvents
		if service != "cloudtrail" {
			aerr = &apiError{http.StatusBadRequest, "InvalidSignatureException", "credential scope service must be cloudtrail"}
		} else if aerr = s.fault(OpLookupEvents, region, body); aerr == nil {
			out, aerr = s.lookupEvents(region, body)
		}
	default:
		aerr = &apiError{http.StatusBadRequest, "UnknownOperationException", "unknown X-Amz-Target " + strconv.Quote(target)}
	}
	if aerr != nil {
		req.Status, req.ErrorCode = aerr.status, aerr.code
	} else {
		req.Status = http.StatusOK
	}
	s.requests = append(s.requests, req)
	n := len(s.requests)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID(n))
	if aerr != nil {
		w.WriteHeader(aerr.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": aerr.code, "message": aerr.message})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

// fault returns the first matching injected fault, consuming one use. Callers
// hold s.mu.
func (s *Server) fault(op, region string, body []byte) *apiError {
	var keyID string
	if op == OpGetKeyLastUsage {
		var in struct{ KeyId string }
		_ = json.Unmarshal(body, &in)
		keyID = keyIDOf(in.KeyId)
	}
	for _, f := range s.faults {
		if f.Operation != op || (f.Region != "" && f.Region != region) || (f.KeyID != "" && f.KeyID != keyID) {
			continue
		}
		if f.Times > 0 && f.used >= f.Times {
			continue
		}
		f.used++
		return &apiError{f.Status, f.Code, f.Message}
	}
	return nil
}

func decodeStrict(body []byte, v any) *apiError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	return nil
}

// getKeyLastUsage serves TrentService.GetKeyLastUsage. Request: {"KeyId"}.
// Response: KeyCreationDate, KeyId, KeyLastUsage{CloudTrailEventId,
// KmsRequestId, Operation, Timestamp}, TrackingStartDate (epoch seconds).
func (s *Server) getKeyLastUsage(region string, body []byte) (any, *apiError) {
	var in struct {
		KeyId *string
	}
	if e := decodeStrict(body, &in); e != nil {
		return nil, e
	}
	if in.KeyId == nil || *in.KeyId == "" {
		return nil, &apiError{http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"}
	}
	if strings.HasPrefix(*in.KeyId, "alias/") || strings.Contains(*in.KeyId, ":alias/") {
		return nil, &apiError{http.StatusBadRequest, "ValidationException", "Alias names are not supported"}
	}
	id := keyIDOf(*in.KeyId)
	for _, u := range s.usage {
		if u.KeyID == id && (u.Region == "" || u.Region == region) {
			return usageOutput(u), nil
		}
	}
	if s.anyKey != nil {
		u := *s.anyKey
		u.KeyID = id
		return usageOutput(u), nil
	}
	return nil, &apiError{http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", *in.KeyId)}
}

// usageOutput is the GetKeyLastUsage response for u: KeyCreationDate, KeyId,
// KeyLastUsage{CloudTrailEventId, KmsRequestId, Operation, Timestamp},
// TrackingStartDate (epoch seconds).
func usageOutput(u KeyLastUsage) map[string]any {
	last := map[string]any{}
	if u.Operation != "" {
		last["Operation"] = u.Operation
		last["Timestamp"] = epoch(u.Timestamp)
		if u.CloudTrailEventID != "" {
			last["CloudTrailEventId"] = u.CloudTrailEventID
		}
		if u.KMSRequestID != "" {
			last["KmsRequestId"] = u.KMSRequestID
		}
	}
	out := map[string]any{"KeyId": u.KeyID, "KeyLastUsage": last}
	if !u.TrackingStartDate.IsZero() {
		out["TrackingStartDate"] = epoch(u.TrackingStartDate)
	}
	if !u.KeyCreationDate.IsZero() {
		out["KeyCreationDate"] = epoch(u.KeyCreationDate)
	}
	return out
}

type lookupInput struct {
	EndTime          *json.Number
	EventCategory    *string
	LookupAttributes []struct {
		AttributeKey   string
		AttributeValue string
	}
	MaxResults *json.Number
	NextToken  *string
	StartTime  *json.Number
}

var lookupKeys = map[string]bool{
	"EventId": true, "EventName": true, "ReadOnly": true, "Username": true,
	"ResourceType": true, "ResourceName": true, "EventSource": true, "AccessKeyId": true,
}

// lookupEvents serves CloudTrail LookupEvents: at most one lookup attribute,
// StartTime/EndTime inclusive, MaxResults 1..50 (default 50), events newest
// first, and a NextToken bound to the original parameters.
func (s *Server) lookupEvents(region string, body []byte) (any, *apiError) {
	var in lookupInput
	if e := decodeStrict(body, &in); e != nil {
		return nil, e
	}
	if len(in.LookupAttributes) > 1 {
		return nil, &apiError{http.StatusBadRequest, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute."}
	}
	for _, a := range in.LookupAttributes {
		if !lookupKeys[a.AttributeKey] || a.AttributeValue == "" {
			return nil, &apiError{http.StatusBadRequest, "InvalidLookupAttributesException", "invalid lookup attribute " + strconv.Quote(a.AttributeKey)}
		}
	}
	if in.EventCategory != nil && *in.EventCategory != "insight" {
		return nil, &apiError{http.StatusBadRequest, "InvalidEventCategoryException", "EventCategory must be insight"}
	}
	maxResults := 50
	if in.MaxResults != nil {
		n, err := in.MaxResults.Int64()
		if err != nil || n < 1 || n > 50 {
			return nil, &apiError{http.StatusBadRequest, "InvalidMaxResultsException", "MaxResults must be between 1 and 50"}
		}
		maxResults = int(n)
	}
	start, end := timeOf(in.StartTime), timeOf(in.EndTime)
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return nil, &apiError{http.StatusBadRequest, "InvalidTimeRangeException", "StartTime is after EndTime"}
	}
	fingerprint := paramsFingerprint(in, region)
	offset := 0
	if in.NextToken != nil {
		var ok bool
		offset, ok = parseToken(*in.NextToken, fingerprint)
		if !ok {
			return nil, &apiError{http.StatusBadRequest, "InvalidNextTokenException", "NextToken does not match the request's parameters"}
		}
	}

	var matched []Event
	for _, e := range s.events {
		if e.Region != "" && e.Region != region {
			continue
		}
		if (!start.IsZero() && e.EventTime.Before(start)) || (!end.IsZero() && e.EventTime.After(end)) {
			continue
		}
		if len(in.LookupAttributes) == 1 && !matches(e, in.LookupAttributes[0].AttributeKey, in.LookupAttributes[0].AttributeValue) {
			continue
		}
		matched = append(matched, e)
	}
	sort.SliceStable(matched, func(i, j int) bool {
		if !matched[i].EventTime.Equal(matched[j].EventTime) {
			return matched[i].EventTime.After(matched[j].EventTime)
		}
		return matched[i].EventID < matched[j].EventID
	})
	size := maxResults
	if s.pageSize > 0 && s.pageSize < size {
		size = s.pageSize
	}
	if offset > len(matched) {
		offset = len(matched)
	}
	stop := min(offset+size, len(matched))
	events := make([]map[string]any, 0, stop-offset)
	for _, e := range matched[offset:stop] {
		m := map[string]any{
			"EventId":         e.EventID,
			"EventName":       e.EventName,
			"EventTime":       epoch(e.EventTime),
			"CloudTrailEvent": e.CloudTrailEvent,
		}
		if e.EventSource != "" {
			m["EventSource"] = e.EventSource
		}
		if e.Username != "" {
			m["Username"] = e.Username
		}
		if e.AccessKeyID != "" {
			m["AccessKeyId"] = e.AccessKeyID
		}
		if e.ReadOnly != "" {
			m["ReadOnly"] = e.ReadOnly
		}
		var res []map[string]string
		for _, r := range e.Resources {
			res = append(res, map[string]string{"ResourceType": r.ResourceType, "ResourceName": r.ResourceName})
		}
		if res != nil {
			m["Resources"] = res
		}
		events = append(events, m)
	}
	out := map[string]any{"Events": events}
	if stop < len(matched) {
		out["NextToken"] = makeToken(stop, fingerprint)
	}
	return out, nil
}

// matches reports whether e has value for the lookup attribute key.
func matches(e Event, key, value string) bool {
	fields := map[string]string{
		"EventId": e.EventID, "EventName": e.EventName, "ReadOnly": e.ReadOnly,
		"Username": e.Username, "EventSource": e.EventSource, "AccessKeyId": e.AccessKeyID,
	}
	if v, ok := fields[key]; ok {
		return v == value
	}
	for _, r := range e.Resources {
		if (key == "ResourceType" && r.ResourceType == value) || (key == "ResourceName" && r.ResourceName == value) {
			return true
		}
	}
	return false
}

func paramsFingerprint(in lookupInput, region string) string {
	in.NextToken = nil
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(append(b, region...))
	return hex.EncodeToString(sum[:8])
}

func makeToken(offset int, fingerprint string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%s", offset, fingerprint)))
}

func parseToken(tok, fingerprint string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	off, fp, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(off)
	return n, ok && err == nil && n >= 0 && fp == fingerprint
}

func timeOf(n *json.Number) time.Time {
	if n == nil {
		return time.Time{}
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

// epoch renders a timestamp the way AWS JSON 1.1 does: epoch seconds with a
// millisecond fraction.
func epoch(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
}

// keyIDOf returns the key id of a key id or key ARN.
func keyIDOf(ref string) string {
	if i := strings.LastIndex(ref, ":key/"); i >= 0 {
		return ref[i+len(":key/"):]
	}
	return ref
}

func requestID(n int) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

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
	region, akid, _ := sigv4.CredentialScope(r.Header.Get("Authorization"))
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
