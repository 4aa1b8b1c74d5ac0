// Package adcptest validates response bodies against the official AdCP 3.0
// JSON schemas in tests. The schemas live in the shared reference folder
// beside the checkout (ADCP_SCHEMAS_DIR overrides the location).
package adcptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const base = "https://adcontextprotocol.org"

var (
	once     sync.Once
	compiler *jsonschema.Compiler
	dirErr   error
	cache    sync.Map
	compMu   sync.Mutex // the compiler is not safe for concurrent use
)

// Dir finds the 3.0.0 schema tree.
func Dir() (string, error) {
	if d := os.Getenv("ADCP_SCHEMAS_DIR"); d != "" {
		return d, nil
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for i := 0; i < 8; i++ {
		cand := filepath.Join(dir, "shared", "adcp", "schemas", "3.0.0")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		dir = filepath.Dir(dir)
	}
	return "", fmt.Errorf("AdCP schemas not found: set ADCP_SCHEMAS_DIR or keep shared/ beside the checkout")
}

func setup() {
	dir, err := Dir()
	if err != nil {
		dirErr = err
		return
	}
	compiler = jsonschema.NewCompiler()
	dirErr = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(dir, path)
		return compiler.AddResource(base+"/schemas/3.0.0/"+filepath.ToSlash(rel), doc)
	})
}

// Validate checks body against the schema at rel (e.g.
// "creative/sync-creatives-response.json") and fails tb on a mismatch.
func Validate(tb testing.TB, rel string, body []byte) {
	tb.Helper()
	once.Do(setup)
	if dirErr != nil {
		tb.Fatal(dirErr)
	}
	var sch *jsonschema.Schema
	if v, ok := cache.Load(rel); ok {
		sch = v.(*jsonschema.Schema)
	} else {
		compMu.Lock()
		s, err := compiler.Compile(base + "/schemas/3.0.0/" + rel)
		compMu.Unlock()
		if err != nil {
			tb.Fatalf("compiling %s: %v", rel, err)
		}
		cache.Store(rel, s)
		sch = s
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("response is not JSON: %v\n%s", err, body)
	}
	if err := sch.Validate(inst); err != nil {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, body, "", "  ")
		tb.Fatalf("response does not match %s:\n%v\nbody:\n%s", rel, err, pretty.String())
	}
}
