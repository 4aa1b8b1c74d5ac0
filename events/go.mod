module example.com/creativesync/events

go 1.26.8
