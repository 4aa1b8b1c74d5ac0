package repocheck

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outside matches references to the reference folder that sits beside the
// team's checkout ("shared/": AdCP schemas, test vectors, notes). A clone has
// nothing beside it, so code, scripts, Makefiles and data must never read
// from there; material the project needs is copied in with a SOURCE.md
// naming its origin (platform/adcpschema, the notifier's signing testdata).
// folder is the reference folder's name, kept apart from the path
// separators so that this file does not itself spell a path into it.
const folder = "shared"

var outside = regexp.MustCompile(strings.Join([]string{
	`\.\./` + folder + `\b`,                    // a parent-relative path to it, any depth
	`/work/` + folder + `\b`,                   // the folder's absolute path
	`\bshared/(adcp|docs|hooks|seeds)\b`,       // paths into it
	`"shared"\s*,\s*"(adcp|docs|hooks|seeds)"`, // filepath.Join("…", "shared", "adcp", …)
	`\bADCP_SCHEMAS_DIR\b`,                     // the removed override that pointed there
}, "|"))

// skipDirs are not part of a clone or are third-party: VCS data, npm
// installs, the stack's runtime data, build output.
var skipDirs = map[string]bool{".git": true, "node_modules": true, ".data": true, "bin": true}

// TestNothingReadsOutsideTheRepository fails when any file other than prose
// (Markdown: a README may say where copied material came from) mentions a
// path into the reference folder beside the checkout.
func TestNothingReadsOutsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	self, err := filepath.Abs("selfcontained_test.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".md") || path == self {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // binary
		}
		checked++
		// Every pattern contains one of these words; the regexp only runs on
		// files that do (it is slow under -race on the large JSON schemas).
		if !bytes.Contains(b, []byte("shared")) && !bytes.Contains(b, []byte("ADCP_SCHEMAS_DIR")) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, len(b)+1)
		for n := 1; sc.Scan(); n++ {
			if m := outside.FindString(sc.Text()); m != "" {
				t.Errorf("%s:%d refers to %q outside the repository; copy what is needed into the project (with a SOURCE.md) instead:\n\t%s",
					rel, n, m, strings.TrimSpace(sc.Text()))
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files under %s; is that the repository root?", checked, root)
	}
}

// The pattern catches the forms that have occurred and leaves ordinary uses
// of the word alone.
func TestOutsidePattern(t *testing.T) {
	for _, s := range []string{
		`cand := filepath.Join(dir, "shared", "adcp", "schemas", "3.0.0")`,
		`SCHEMAS=../` + folder + `/adcp/schemas/3.0.0`,
		`cat ../../` + folder + `/docs/adcp-spec.md`,
		`const dir = "/work/` + folder + `"`,
		`os.Getenv("ADCP_SCHEMAS_DIR")`,
	} {
		if !outside.MatchString(s) {
			t.Errorf("not caught: %s", s)
		}
	}
	for _, s := range []string{
		`// a lock shared by every replica`,
		`MinHMACSecretLen is AdCP's floor for shared secrets`,
		`t.Error("serviceEnv modified the shared environment")`,
	} {
		if outside.MatchString(s) {
			t.Errorf("false positive: %s", s)
		}
	}
}

// repoRoot is the directory holding go.work, above the package directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the test's directory")
		}
		dir = parent
	}
}
