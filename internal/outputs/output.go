package outputs

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/palisade-sec/palisade/internal/alert"
)

// Output is one alert destination. Write receives alerts in the order they
// were sent, in batches of one or more; it may take its time (the
// Dispatcher runs each output on its own goroutine) and must give up when
// ctx is cancelled. An error means the batch was not delivered.
type Output interface {
	Name() string
	Write(ctx context.Context, batch []alert.Alert) error
	Close() error
}

// FalcoJSON encodes an alert exactly as Falco's json_output does, with the
// normalisations receivers such as falcosidekick rely on: time in UTC
// RFC 3339, tags an array (never null), output_fields an object that is
// never empty (evt.time, the event time in nanoseconds, is added when the
// rule produced no fields). encoding/json escapes HTML characters and
// replaces invalid UTF-8, so the result is always valid JSON.
func FalcoJSON(a alert.Alert) ([]byte, error) {
	return json.Marshal(FalcoShape(a))
}

// FalcoShape applies FalcoJSON's normalisations to an alert value.
func FalcoShape(a alert.Alert) alert.Alert {
	a.Time = a.Time.UTC()
	if a.Tags == nil {
		a.Tags = []string{}
	}
	if len(a.OutputFields) == 0 {
		a.OutputFields = map[string]any{"evt.time": a.Time.UnixNano()}
	}
	if a.Source == "" {
		a.Source = "syscall"
	}
	return a
}

// TruncatedField is set to true in output_fields when an alert was cut to
// fit a transport's size limit (NATS max_payload, for example).
const TruncatedField = "palisade.truncated"

// FalcoJSONWithin encodes a like FalcoJSON, and if the result exceeds limit
// bytes, cuts long strings (output and string output_fields) until it fits
// and marks the alert with TruncatedField.
func FalcoJSONWithin(a alert.Alert, limit int) ([]byte, error) {
	b, err := FalcoJSON(a)
	if err != nil || limit <= 0 || len(b) <= limit {
		return b, err
	}
	for _, keep := range []int{64 << 10, 4 << 10, 256, 32} {
		c := a
		c.Output = truncateUTF8(a.Output, keep)
		c.OutputFields = make(map[string]any, len(a.OutputFields)+1)
		for k, v := range a.OutputFields {
			if s, ok := v.(string); ok {
				v = truncateUTF8(s, keep)
			}
			c.OutputFields[k] = v
		}
		c.OutputFields[TruncatedField] = true
		if b, err = FalcoJSON(c); err != nil || len(b) <= limit {
			return b, err
		}
	}
	return nil, fmt.Errorf("alert %q does not fit in %d bytes", truncateUTF8(a.Rule, 100), limit)
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
