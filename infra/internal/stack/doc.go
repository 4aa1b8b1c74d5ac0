// Package stack is what `stack up` does, as a library: read the stack's
// environment, find or start Postgres and NATS (package devstack), provision
// one database per service and one stream per topic, build the three
// services from the tree and run them until told to stop.
//
// infra/cmd/stack is its command line; infra/cmd/load drives the same
// pipeline under load and needs the service processes (their pids, ports and
// databases) in hand, which is why this is a package rather than a binary to
// run and parse.
package stack
