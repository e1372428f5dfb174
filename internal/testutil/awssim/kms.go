package awssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// response is an answer ready to write.
type response struct {
	status int
	ctype  string
	body   []byte
}

const jsonType = "application/x-amz-json-1.1"

func (r response) write(w http.ResponseWriter, seq int64) {
	w.Header().Set("Content-Type", r.ctype)
	w.Header().Set("X-Amzn-Requestid", requestID(seq))
	w.Header().Set("Content-Length", strconv.Itoa(len(r.body)))
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

func requestID(n int64) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
}

func jsonOK(v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return jsonErr(http.StatusInternalServerError, "InternalFailure", err.Error())
	}
	return response{http.StatusOK, jsonType, b}
}

func jsonErr(status int, code, msg string) response {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, msg})
	return response{status, jsonType, b}
}

func throttle(c call) response {
	switch c.service {
	case "sts":
		return xmlErr(http.StatusBadRequest, "Throttling", "Rate exceeded")
	case "ec2":
		return ec2Err(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
	default:
		return jsonErr(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}
}

func unknownOperation(c call) response {
	if c.form != nil {
		return xmlErr(http.StatusBadRequest, "InvalidAction", "Could not find operation "+c.op)
	}
	return jsonErr(http.StatusBadRequest, "UnknownOperationException", "")
}

// epoch is a timestamp as the JSON protocols send it: seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Time(e).Unix(), 10), nil
}

type kmsInput struct {
	KeyId  string
	Limit  *int
	Marker string
}

type keyMetadata struct {
	AWSAccountId          string
	Arn                   string
	CreationDate          epoch
	CustomerMasterKeySpec string
	DeletionDate          *epoch `json:",omitempty"`
	Description           string
	Enabled               bool
	EncryptionAlgorithms  []string
	KeyId                 string
	KeyManager            string
	KeySpec               string
	KeyState              string
	KeyUsage              string
	MultiRegion           bool
	Origin                string
}

type keyEntry struct {
	KeyArn string
	KeyId  string
}

type aliasEntry struct {
	AliasArn        string
	AliasName       string
	CreationDate    epoch
	LastUpdatedDate epoch
	TargetKeyId     string `json:",omitempty"`
}

var symmetric = []string{"SYMMETRIC_DEFAULT"}

func (s *Server) kms(c call) response {
	var in kmsInput
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return jsonErr(http.StatusBadRequest, "SerializationException", "bad JSON")
		}
	}
	reg := s.world.Accounts[c.account].Regions[c.region] // nil: no keys there
	switch c.op {
	case "ListKeys":
		return listKeys(c, reg, in)
	case "DescribeKey":
		k, r := s.findKey(c, reg, in.KeyId)
		if r != nil {
			return *r
		}
		return jsonOK(struct{ KeyMetadata keyMetadata }{metadata(c, k)})
	case "ListAliases":
		return s.listAliases(c, reg, in)
	case "ListResourceTags":
		k, r := s.findKey(c, reg, in.KeyId)
		if r != nil {
			return *r
		}
		tags := make([]map[string]string, 0, len(k.Tags))
		for _, t := range k.Tags {
			tags = append(tags, map[string]string{"TagKey": t[0], "TagValue": t[1]})
		}
		return jsonOK(map[string]any{"Tags": tags, "Truncated": false})
	case "GetKeyLastUsage":
		k, r := s.findKey(c, reg, in.KeyId)
		if r != nil {
			return *r
		}
		// No recorded use since tracking started (the API reference's
		// response for an unused key: an empty KeyLastUsage).
		return jsonOK(map[string]any{
			"KeyId": k.ID, "KeyCreationDate": epoch(k.Created),
			"TrackingStartDate": epoch(s.world.Now.AddDate(0, 0, -90)), "KeyLastUsage": struct{}{},
		})
	default:
		return unknownOperation(c)
	}
}

func keyARN(c call, id string) string {
	return "arn:aws:kms:" + c.region + ":" + c.account + ":key/" + id
}

func metadata(c call, k *Key) keyMetadata {
	m := keyMetadata{
		AWSAccountId: c.account, Arn: keyARN(c, k.ID), CreationDate: epoch(k.Created),
		CustomerMasterKeySpec: "SYMMETRIC_DEFAULT", Enabled: k.State == "Enabled",
		EncryptionAlgorithms: symmetric, KeyId: k.ID, KeyManager: "CUSTOMER",
		KeySpec: "SYMMETRIC_DEFAULT", KeyState: k.State, KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS",
	}
	if k.State == "PendingDeletion" {
		d := epoch(k.DeletionDate)
		m.DeletionDate = &d
	}
	return m
}

// findKey resolves a key id, key ARN, alias name or alias ARN in the call's
// account and Region.
func (s *Server) findKey(c call, reg *Region, ref string) (*Key, *response) {
	if ref == "" {
		r := jsonErr(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
		return nil, &r
	}
	id := ref
	if strings.HasPrefix(ref, "arn:") {
		p := strings.SplitN(ref, ":", 6)
		if len(p) != 6 || p[3] != c.region || p[4] != c.account {
			r := jsonErr(http.StatusBadRequest, "NotFoundException", "Invalid arn "+ref)
			return nil, &r
		}
		id = strings.TrimPrefix(p[5], "key/")
	}
	if reg != nil && strings.HasPrefix(id, "alias/") {
		i := sort.Search(len(reg.Aliases), func(i int) bool { return reg.Aliases[i].Name >= id })
		if i < len(reg.Aliases) && reg.Aliases[i].Name == id {
			id = reg.Aliases[i].TargetKeyID
		}
	}
	if reg != nil {
		if i, ok := reg.byID[id]; ok {
			return &reg.Keys[i], nil
		}
	}
	r := jsonErr(http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", keyARN(c, id)))
	return nil, &r
}

// page reads Limit and Marker: the offset to start at and the page size.
func page(in kmsInput, def, most int) (offset, size int, bad *response) {
	size = def
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > most {
			r := jsonErr(http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to %d", *in.Limit, most))
			return 0, 0, &r
		}
		size = *in.Limit
	}
	if in.Marker != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.Marker, "m"))
		if err != nil || !strings.HasPrefix(in.Marker, "m") || n < 0 {
			r := jsonErr(http.StatusBadRequest, "InvalidMarkerException", "Invalid marker")
			return 0, 0, &r
		}
		offset = n
	}
	return offset, size, nil
}

func listKeys(c call, reg *Region, in kmsInput) response {
	off, size, bad := page(in, 100, 1000)
	if bad != nil {
		return *bad
	}
	var keys []Key
	if reg != nil {
		keys = reg.Keys
	}
	off = min(off, len(keys))
	stop := min(off+size, len(keys))
	out := struct {
		Keys       []keyEntry
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{Keys: make([]keyEntry, 0, stop-off)}
	for i := off; i < stop; i++ {
		out.Keys = append(out.Keys, keyEntry{KeyArn: keyARN(c, keys[i].ID), KeyId: keys[i].ID})
	}
	if stop < len(keys) {
		out.NextMarker, out.Truncated = "m"+strconv.Itoa(stop), true
	}
	return jsonOK(out)
}

func (s *Server) listAliases(c call, reg *Region, in kmsInput) response {
	off, size, bad := page(in, 50, 100)
	if bad != nil {
		return *bad
	}
	var idx []int32
	switch {
	case in.KeyId != "":
		k, r := s.findKey(c, reg, in.KeyId)
		if r != nil {
			return *r
		}
		idx = reg.byKey[k.ID]
	case reg != nil:
		idx = make([]int32, len(reg.Aliases))
		for i := range idx {
			idx[i] = int32(i)
		}
	}
	off = min(off, len(idx))
	stop := min(off+size, len(idx))
	out := struct {
		Aliases    []aliasEntry
		NextMarker string `json:",omitempty"`
		Truncated  bool
	}{Aliases: make([]aliasEntry, 0, stop-off)}
	for _, i := range idx[off:stop] {
		a := reg.Aliases[i]
		out.Aliases = append(out.Aliases, aliasEntry{
			AliasArn: "arn:aws:kms:" + c.region + ":" + c.account + ":" + a.Name, AliasName: a.Name,
			CreationDate: epoch(a.Created), LastUpdatedDate: epoch(a.Created), TargetKeyId: a.TargetKeyID,
		})
	}
	if stop < len(idx) {
		out.NextMarker, out.Truncated = "m"+strconv.Itoa(stop), true
	}
	return jsonOK(out)
}
