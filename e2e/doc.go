// Package e2e runs the three service binaries as separate processes against
// real Postgres and JetStream and follows a creative from sync to the
// buyer's webhook. It is the only test that sees the system as it ships.
package e2e
