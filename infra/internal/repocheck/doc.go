// Package repocheck holds tests about the repository as a whole rather than
// about one module: today, that a clone builds, tests and runs with nothing
// beside it (see selfcontained_test.go).
package repocheck
