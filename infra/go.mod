module example.com/creativesync/infra

go 1.26.8

require example.com/creativesync/events v0.0.0

replace example.com/creativesync/events => ../events
