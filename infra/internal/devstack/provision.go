package devstack

import (
	"context"
	"fmt"

	"example.com/creativesync/events"
	"example.com/creativesync/platform/broker"
	"example.com/creativesync/platform/pgdb"
)

// DatabaseName is the database of one service; each service owns its own.
func DatabaseName(service string) string { return "creativesync_" + service }

// ProvisionDatabases creates one database per service on the server adminURL
// points at and returns each service's URL.
func ProvisionDatabases(ctx context.Context, adminURL string, services ...string) (map[string]string, error) {
	return ProvisionNamedDatabases(ctx, adminURL, DatabaseName, services...)
}

// ProvisionNamedDatabases is ProvisionDatabases with the databases named by
// dbName, so a second pipeline (the load benchmark's) can have its own.
func ProvisionNamedDatabases(ctx context.Context, adminURL string, dbName func(service string) string, services ...string) (map[string]string, error) {
	urls := make(map[string]string, len(services))
	for _, svc := range services {
		name := dbName(svc)
		if err := pgdb.EnsureDatabase(ctx, adminURL, name); err != nil {
			return nil, err
		}
		u, err := pgdb.WithDatabase(adminURL, name)
		if err != nil {
			return nil, err
		}
		urls[svc] = u
	}
	return urls, nil
}

// StreamTopics lists every topic that needs a stream under prefix: each
// event's, plus the poison topic handlers send permanent failures to.
func StreamTopics(prefix string) []string {
	var topics []string
	for _, name := range append(events.Topics(), broker.PoisonTopic) {
		topics = append(topics, broker.Topic(prefix, name))
	}
	return topics
}

// ProvisionStreams creates the streams before any service starts: an outbox
// row for a topic without a stream blocks the relay for every later event.
func ProvisionStreams(natsURL, prefix string) ([]string, error) {
	nc, err := broker.Connect(natsURL, "creativesync-stack")
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return nil, fmt.Errorf("JetStream on %s: %w", natsURL, err)
	}
	topics := StreamTopics(prefix)
	if err := broker.EnsureStreams(js, topics...); err != nil {
		return nil, err
	}
	return topics, nil
}
