// Package devstack starts and provisions what the services need on a
// developer's machine or in CI: a Postgres and a NATS server with JetStream.
//
// It prefers servers that are already running (the ones DATABASE_URL and
// NATS_URL name, then the standard local ports) and falls back to private
// ones it owns: a Postgres cluster under .data/pg run from Debian's binaries,
// and a NATS server embedded in the calling process. Reuse keeps `make test`
// fast where the machine has the services; the fallbacks keep it working on
// a machine that has nothing running.
package devstack
