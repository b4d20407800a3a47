package outputs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"golang.org/x/term"
)

// Format selects how a stream output renders alerts.
type Format string

// The stream formats.
const (
	FormatText Format = "text" // one escaped line per alert
	FormatJSON Format = "json" // Falco JSON, one object per line
)

// ParseFormat accepts "text" or "json".
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatText, FormatJSON:
		return Format(s), nil
	case "":
		return FormatText, nil
	}
	return "", fmt.Errorf("unknown alert format %q (want text or json)", s)
}

// ColorMode says when the text format uses colour.
type ColorMode string

// The colour modes.
const (
	ColorAuto   ColorMode = "auto" // on a terminal, unless NO_COLOR is set
	ColorAlways ColorMode = "always"
	ColorNever  ColorMode = "never"
)

// UseColor decides colour for w: always/never as asked; auto means only
// when w is a terminal and NO_COLOR is unset or empty (no-color.org).
func UseColor(mode ColorMode, w io.Writer) bool {
	switch mode {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// FormatTextLine renders one alert as a single line:
//
//	2026-11-27T04:00:00.123456789Z Warning [Rule name] output text
//
// Every attacker-controlled part is passed through escape.Text.
func FormatTextLine(a alert.Alert, color bool) string {
	ts := a.Time.UTC().Format(time.RFC3339Nano)
	pri := a.Priority.String()
	if color {
		pri = priorityColor(a.Priority) + pri + "\x1b[0m"
	}
	line := ts + " " + pri + " [" + escape.Text(a.Rule) + "] " + escape.Text(a.Output)
	// Falco-shaped outputs already start with "15:04:05.000000000: Priority ";
	// print those as Falco does, with the rule name after them.
	if prefix := a.Time.UTC().Format("15:04:05.000000000") + ": " + a.Priority.String() + " "; strings.HasPrefix(a.Output, prefix) {
		rest := escape.Text(strings.TrimPrefix(a.Output, prefix))
		line = prefix[:len(prefix)-len(a.Priority.String())-1] + pri + " " + rest + " [" + escape.Text(a.Rule) + "]"
	}
	if n, ok := a.OutputFields[MergedField]; ok {
		line += fmt.Sprintf(" (merged %v alerts)", n)
	}
	if r := a.Response; r != nil {
		line += " [response: " + escape.Text(r.String()) + "]"
	}
	return line + "\n"
}

func priorityColor(p alert.Priority) string {
	switch {
	case p <= alert.Critical:
		return "\x1b[1;31m" // bold red
	case p == alert.Error:
		return "\x1b[31m"
	case p == alert.Warning:
		return "\x1b[33m"
	case p == alert.Notice:
		return "\x1b[36m"
	}
	return "\x1b[2m"
}

// StreamOutput writes alerts to an io.Writer (stdout for the terminal
// output) as text lines or JSON lines.
type StreamOutput struct {
	name   string
	format Format
	color  bool
	mu     sync.Mutex
	bw     *bufio.Writer
	closer io.Closer
}

// NewStreamOutput writes to w. closer, if not nil, is closed by Close.
func NewStreamOutput(name string, w io.Writer, format Format, color bool, closer io.Closer) *StreamOutput {
	return &StreamOutput{name: name, format: format, color: color && format == FormatText, bw: bufio.NewWriterSize(w, 64<<10), closer: closer}
}

// Name implements Output.
func (o *StreamOutput) Name() string { return o.name }

// Write implements Output; each batch is flushed before returning.
func (o *StreamOutput) Write(_ context.Context, batch []alert.Alert) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range batch {
		if err := o.render(a); err != nil {
			return err
		}
	}
	return o.bw.Flush()
}

func (o *StreamOutput) render(a alert.Alert) error {
	if o.format == FormatJSON {
		b, err := FalcoJSON(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		o.bw.Write(b)
		return o.bw.WriteByte('\n')
	}
	_, err := o.bw.WriteString(FormatTextLine(a, o.color))
	return err
}

// Close implements Output.
func (o *StreamOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	err := o.bw.Flush()
	if o.closer != nil {
		if cerr := o.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
