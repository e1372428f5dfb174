package latencyproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// AnswerGetKeyLastUsage returns an Intercept that answers KMS GetKeyLastUsage,
// which moto 5.2.1 lacks (it answers HTTP 500, and the SDK then retries with
// backoff for tens of seconds), and lets every other call through. The
// answer has the API reference's response shape for a key with no recorded
// use: KeyId, TrackingStartDate (trackingAge before now) and an empty
// KeyLastUsage. Timestamps are epoch seconds, as in the AWS JSON protocol.
func AnswerGetKeyLastUsage(now func() time.Time, trackingAge time.Duration) func(http.ResponseWriter, *http.Request, string) bool {
	return func(w http.ResponseWriter, r *http.Request, op string) bool {
		if op != "GetKeyLastUsage" {
			return false
		}
		var in struct{ KeyId string }
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxFormBody))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if err := json.Unmarshal(body, &in); err != nil || in.KeyId == "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": "ValidationException", "message": "KeyId is required"})
			return true
		}
		id := in.KeyId
		if i := strings.LastIndex(id, "key/"); i >= 0 {
			id = id[i+len("key/"):]
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"KeyId":             id,
			"TrackingStartDate": float64(now().Add(-trackingAge).Unix()),
			"KeyLastUsage":      map[string]any{},
		})
		return true
	}
}
