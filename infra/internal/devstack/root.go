package devstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FindRoot returns the first directory at or above dir that holds go.work.
// The repository has no root go.mod, so go.work is what marks its top.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if fi, err := os.Stat(filepath.Join(d, "go.work")); err == nil && !fi.IsDir() {
			return d, nil
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.work in %s or any parent: run this from inside the repository", dir)
		}
		d = parent
	}
}
