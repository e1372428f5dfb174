package app_test

import "time"

// soon is an allowlist expiry the runs accept: after the judged time (now
// plus shiftDays) and well within max-allow-days of it.
func soon() string { return time.Now().AddDate(0, 0, shiftDays+90).Format(time.DateOnly) }
