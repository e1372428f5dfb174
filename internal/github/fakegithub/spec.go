package fakegithub

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specJSON is GitHub's OpenAPI description of the operations we call; see
// testdata/README.md for its source and license.
//
//go:embed testdata/github-rest-subset.json
var specJSON []byte

// specHost is the server the description names; requests are routed as if
// they had been sent there, whatever loopback port the fake listens on.
const specHost = "api.github.com"

type loadedSpec struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	specOnce   sync.Once
	specLoaded loadedSpec
	specErr    error
)

// loadSpec parses the embedded description once per process: every fake
// shares the read-only document and router.
func loadSpec() (loadedSpec, error) {
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(specJSON)
		if err != nil {
			specErr = fmt.Errorf("load embedded GitHub OpenAPI description: %w", err)
			return
		}
		// No doc.Validate: it checks GitHub's own examples, and one of them
		// fails. The fake validates traffic, not the document.
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			specErr = fmt.Errorf("route GitHub OpenAPI description: %w", err)
			return
		}
		specLoaded = loadedSpec{doc: doc, router: router}
	})
	return specLoaded, specErr
}

// example returns a deep copy of a documented response example, used as the
// template of a response so that the fake answers with every field GitHub
// documents (and the validator demands), not a hand-picked few.
func (s loadedSpec) example(operationID string, status int, name string) (any, error) {
	for _, path := range s.doc.Paths.InMatchingOrder() {
		for _, op := range s.doc.Paths.Value(path).Operations() {
			if op.OperationID != operationID {
				continue
			}
			resp := op.Responses.Status(status)
			if resp == nil || resp.Value == nil {
				return nil, fmt.Errorf("%s: no %d response", operationID, status)
			}
			media := resp.Value.Content.Get("application/json")
			if media == nil || media.Examples[name] == nil || media.Examples[name].Value == nil {
				return nil, fmt.Errorf("%s: no %d example %q", operationID, status, name)
			}
			b, err := json.Marshal(media.Examples[name].Value.Value)
			if err != nil {
				return nil, err
			}
			var v any
			return v, json.Unmarshal(b, &v)
		}
	}
	return nil, fmt.Errorf("operation %s not in the description", operationID)
}
