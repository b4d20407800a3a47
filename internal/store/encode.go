package store

import (
	"encoding/json"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/palisade-sec/palisade/internal/alert"
)

// encodeDoc renders an alert as the JSON document the doc column keeps.
// It decodes to exactly what json.Marshal(a) decodes to (a test and a fuzz
// target check that) but skips reflection, which was a quarter of the
// insert cost. Values it does not know fall back to encoding/json.
func encodeDoc(buf []byte, a *alert.Alert) ([]byte, error) {
	t, err := a.Time.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b := append(buf, `{"time":`...)
	b = append(b, t...)
	b = append(b, `,"rule":`...)
	b = appendString(b, a.Rule)
	b = append(b, `,"priority":`...)
	p, _ := a.Priority.MarshalText()
	b = appendString(b, string(p))
	b = append(b, `,"output":`...)
	b = appendString(b, a.Output)
	b = append(b, `,"output_fields":`...)
	if a.OutputFields == nil {
		b = append(b, "null"...)
	} else {
		keys := make([]string, 0, len(a.OutputFields))
		for k := range a.OutputFields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if b, err = appendValue(b, a.OutputFields[k]); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
	}
	b = append(b, `,"source":`...)
	b = appendString(b, a.Source)
	b = append(b, `,"tags":`...)
	if a.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, tag := range a.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, tag)
		}
		b = append(b, ']')
	}
	b = append(b, `,"hostname":`...)
	b = appendString(b, a.Hostname)
	if a.ID != "" {
		b = append(b, `,"uuid":`...)
		b = appendString(b, a.ID)
	}
	if r := a.Response; r != nil {
		b = append(b, `,"response":{"action":`...)
		b = appendString(b, r.Action)
		b = append(b, `,"target":`...)
		b = appendString(b, r.Target)
		b = append(b, `,"result":`...)
		b = appendString(b, r.Result)
		if r.Error != "" {
			b = append(b, `,"error":`...)
			b = appendString(b, r.Error)
		}
		b = append(b, `,"latency_us":`...)
		b = strconv.AppendInt(b, r.LatencyUS, 10)
		b = append(b, `,"dry_run":`...)
		b = strconv.AppendBool(b, r.DryRun)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (as encoding/json
// does), U+2028/U+2029 escaped so the document is also valid JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigit[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigit = "0123456789abcdef"
