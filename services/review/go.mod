module example.com/creativesync/services/review

go 1.26.8

require example.com/creativesync/events v0.0.0

replace example.com/creativesync/events => ../../events

require example.com/creativesync/platform v0.0.0

replace example.com/creativesync/platform => ../../platform
