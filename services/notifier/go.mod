module example.com/creativesync/services/notifier

go 1.26.8

require example.com/creativesync/events v0.0.0

replace example.com/creativesync/events => ../../events

require (
	example.com/creativesync/platform v0.0.0
	github.com/jmoiron/sqlx v1.4.0
)

require (
	github.com/lib/pq v1.12.3 // indirect
	github.com/mfridman/interpolate v0.0.2 // indirect
	github.com/pressly/goose/v3 v3.29.0 // indirect
	github.com/sethvargo/go-retry v0.5.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)

replace example.com/creativesync/platform => ../../platform
