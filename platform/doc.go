// Package platform is the home of the plumbing all three services share:
// reading and checking the environment (config), how a service starts,
// becomes ready and shuts down (lifecycle), Postgres access and migrations
// (pgdb), JetStream provisioning and Watermill wiring (broker), the
// transactional outbox (outbox), HTTP serving with health, readiness and
// metrics (httpserver), structured logging (logging), coded application
// errors (apperr), and the test helpers that give each test its own database
// (pgtest) and its own streams (natstest) and run a service in a component
// test (servicetest).
//
// It exists because each of these would otherwise be written three times, and
// keeping the JetStream rules and the shutdown order in one place is what
// keeps them enforced.
package platform
