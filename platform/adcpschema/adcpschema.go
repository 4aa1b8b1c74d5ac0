// Package adcpschema carries the official AdCP 3.0.0 JSON schemas inside the
// module (go:embed) and validates JSON documents against them. Nothing is read
// from disk or the network: every $ref resolves within the embedded tree.
//
// Schemas are named by their path under the 3.0.0 tree, e.g.
// "creative/sync-creatives-response.json". Where the files come from is in
// SOURCE.md beside this file.
package adcpschema

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Version is the AdCP release of the embedded schemas.
const Version = "3.0.0"

// AccountsVersion is the release the account schemas (sync_accounts,
// list_accounts) come from: 3.0.0 predates them in the form sellers and the
// pinned compliance runner use. They are named with this prefix, e.g.
// "3.0.6/account/sync-accounts-request.json".
const AccountsVersion = "3.0.6"

//go:embed schemas/3.0.0 schemas/3.0.6
var embedded embed.FS

// Each file's $id is "/schemas/3.0.0/<path>" and cross-file $refs are
// absolute paths of the same form, so registering every file under one
// origin makes them resolve to each other. The origin is only a name; the
// compiler never fetches anything.
const origin = "https://adcontextprotocol.org/schemas/"

const base = origin + Version + "/"

// ErrUnknownSchema is returned (wrapped) for a name that is not in the tree.
var ErrUnknownSchema = errors.New("no such AdCP schema")

var (
	setupOnce sync.Once
	setupErr  error
	compiler  *jsonschema.Compiler
	compileMu sync.Mutex // the compiler is not safe for concurrent use
	compiled  sync.Map   // name -> *Schema
)

// FS returns the embedded schema tree rooted at the 3.0.0 directory, so
// paths are the schema names ("core/format-id.json").
func FS() fs.FS {
	sub, err := fs.Sub(embedded, "schemas/"+Version)
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// AccountsFS returns the embedded 3.0.6 account schemas (and what they
// reference), rooted like FS.
func AccountsFS() fs.FS {
	sub, err := fs.Sub(embedded, "schemas/"+AccountsVersion)
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Schema is one compiled schema. It is safe for concurrent use.
type Schema struct {
	name string
	s    *jsonschema.Schema
}

// Name is the schema's path in the tree.
func (s *Schema) Name() string { return s.name }

// Load compiles the named schema (once; later calls return the same value).
func Load(name string) (*Schema, error) {
	if v, ok := compiled.Load(name); ok {
		return v.(*Schema), nil
	}
	setupOnce.Do(setup)
	if setupErr != nil {
		return nil, setupErr
	}
	if !fs.ValidPath(name) || path.Ext(name) != ".json" {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSchema, name)
	}
	tree, rel, url := FS(), name, base+name
	if r, ok := strings.CutPrefix(name, AccountsVersion+"/"); ok {
		tree, rel, url = AccountsFS(), r, origin+name
	}
	if _, err := fs.Stat(tree, rel); err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSchema, name)
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	if v, ok := compiled.Load(name); ok {
		return v.(*Schema), nil
	}
	s, err := compiler.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compiling AdCP schema %s: %w", name, err)
	}
	sch := &Schema{name: name, s: s}
	compiled.Store(name, sch)
	return sch, nil
}

// Validate checks the JSON document doc against the schema. The error says
// whether doc is not JSON or which constraints it breaks.
func (s *Schema) Validate(doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.ValidateValue(inst)
}

// ValidateValue checks an already decoded JSON value (as produced by
// encoding/json into an any, with numbers preferably as json.Number).
func (s *Schema) ValidateValue(v any) error {
	if err := s.s.Validate(v); err != nil {
		return fmt.Errorf("does not match AdCP %s: %w", s.name, err)
	}
	return nil
}

// Validate checks the JSON document doc against the named schema.
func Validate(name string, doc []byte) error {
	s, err := Load(name)
	if err != nil {
		return err
	}
	return s.Validate(doc)
}

// setup registers every embedded file with one compiler.
func setup() {
	c := jsonschema.NewCompiler()
	// No loader for any scheme: a $ref outside the embedded tree is an
	// error, never a file or network read.
	c.UseLoader(jsonschema.SchemeURLLoader{})
	// Each tree registers under its own version's origin, which is what
	// its files' absolute $refs name, so the trees never mix.
	add := func(tree fs.FS, prefix string) error {
		return fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			b, err := fs.ReadFile(tree, p)
			if err != nil {
				return err
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("embedded AdCP schema %s%s: %w", prefix, p, err)
			}
			return c.AddResource(prefix+p, doc)
		})
	}
	setupErr = errors.Join(add(FS(), base), add(AccountsFS(), origin+AccountsVersion+"/"))
	compiler = c
}
