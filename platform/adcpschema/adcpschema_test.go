package adcpschema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"example.com/creativesync/platform/adcpschema"
)

// names lists every schema in the embedded tree.
func names(t *testing.T) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(adcpschema.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every file compiles, so every $ref resolves inside the embedded tree, and
// every example the schemas carry validates against its own schema.
func TestEveryEmbeddedSchemaCompilesAndAcceptsItsExamples(t *testing.T) {
	all := names(t)
	if len(all) != 242 {
		t.Errorf("embedded tree has %d schemas, want the 242 listed in SOURCE.md", len(all))
	}
	examples := 0
	for _, name := range all {
		s, err := adcpschema.Load(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		raw, err := fs.ReadFile(adcpschema.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ID       string            `json:"$id"`
			Examples []json.RawMessage `json:"examples"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := "/schemas/" + adcpschema.Version + "/" + name; doc.ID != want {
			t.Errorf("%s: $id %q, want %q", name, doc.ID, want)
		}
		// AdCP's examples are {"description", "data"} objects; plain
		// values (a few enums and ids) are not checked.
		for i, raw := range doc.Examples {
			var ex struct {
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal(raw, &ex) != nil || len(ex.Data) == 0 {
				continue
			}
			examples++
			if err := s.Validate(ex.Data); err != nil {
				t.Errorf("%s: example %d: %v", name, i, err)
			}
		}
	}
	if examples < 50 {
		t.Errorf("validated %d embedded examples, want the ~55 the 3.0.0 tree carries", examples)
	}
}

func TestValidateAcceptsAndRejects(t *testing.T) {
	const name = "creative/sync-creatives-response.json"
	ok := `{"creatives":[{"creative_id":"c1","action":"created"}]}`
	if err := adcpschema.Validate(name, []byte(ok)); err != nil {
		t.Errorf("valid response: %v", err)
	}
	// "action" must be one of the creative-action enum values.
	bad := `{"creatives":[{"creative_id":"c1","action":"teleported"}]}`
	err := adcpschema.Validate(name, []byte(bad))
	if err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("invalid response: err = %v, want a mismatch naming %s", err, name)
	}
	if err := adcpschema.Validate(name, []byte(`{"creatives":`)); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("truncated body: err = %v, want not JSON", err)
	}
}

func TestUnknownSchema(t *testing.T) {
	for _, name := range []string{"creative/no-such.json", "../3.0.0/core/error.json", "/core/error.json", "core"} {
		if _, err := adcpschema.Load(name); !errors.Is(err, adcpschema.ErrUnknownSchema) {
			t.Errorf("Load(%q) = %v, want ErrUnknownSchema", name, err)
		}
	}
}

func TestConcurrentLoadAndValidate(t *testing.T) {
	body := []byte(`{"errors":[{"code":"INVALID_REQUEST","message":"x"}]}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, name := range []string{"creative/sync-creatives-response.json", "creative/list-creatives-response.json", "core/error.json"} {
				if _, err := adcpschema.Load(name); err != nil {
					t.Error(err)
				}
			}
			if err := adcpschema.Validate("creative/sync-creatives-response.json", bytes.Clone(body)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// The 3.0.6 account schemas compile in their own tree and accept their own
// examples; a 3.0.6 $ref never lands in the 3.0.0 tree.
func TestAccountSchemasCompileAndAcceptTheirExamples(t *testing.T) {
	n := 0
	err := fs.WalkDir(adcpschema.AccountsFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		n++
		s, err := adcpschema.Load(adcpschema.AccountsVersion + "/" + p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		raw, err := fs.ReadFile(adcpschema.AccountsFS(), p)
		if err != nil {
			return err
		}
		var doc struct {
			Examples []json.RawMessage `json:"examples"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return err
		}
		for i, ex := range doc.Examples {
			var e struct {
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal(ex, &e) != nil || len(e.Data) == 0 {
				continue
			}
			if err := s.Validate(e.Data); err != nil {
				t.Errorf("%s example %d: %v", p, i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Errorf("3.0.6 tree has %d schemas, want the 20 listed in SOURCE.md", n)
	}
	if _, err := adcpschema.Load("3.0.6/creative/sync-creatives-request.json"); !errors.Is(err, adcpschema.ErrUnknownSchema) {
		t.Errorf("a 3.0.6 schema that is not embedded: %v, want ErrUnknownSchema", err)
	}
}
