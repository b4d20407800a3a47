package outputs

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
)

// SyslogConfig configures the syslog output.
type SyslogConfig struct {
	// Address is unix:///dev/log (a path alone also means unix),
	// udp://HOST:PORT or tcp://HOST:PORT.
	Address  string `yaml:"address"`
	Facility string `yaml:"facility"` // default "local0"
	AppName  string `yaml:"app_name"` // default "palisade"
	// MaxMessage caps one record in bytes (default 8192 for unix and udp,
	// 65536 for tcp); longer messages are cut at a rune boundary.
	MaxMessage int `yaml:"max_message"`
}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18,
	"local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// sdID is the structured-data element name. 32473 is the enterprise number
// RFC 5612 reserves for documentation; receivers treat it as opaque.
const sdID = "palisade@32473"

// SyslogOutput sends RFC 5424 records. Over TCP records use octet-counting
// framing (RFC 6587) so an escaped newline can never split a record.
type SyslogOutput struct {
	cfg      SyslogConfig
	network  string
	addr     string
	facility int
	hostname string
	pid      string
	mu       sync.Mutex
	conn     net.Conn
}

// NewSyslogOutput validates the config; the connection is made on first use
// and remade after an error.
func NewSyslogOutput(cfg SyslogConfig) (*SyslogOutput, error) {
	network, addr, err := parseSyslogAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	if cfg.Facility == "" {
		cfg.Facility = "local0"
	}
	fac, ok := facilities[strings.ToLower(cfg.Facility)]
	if !ok {
		return nil, fmt.Errorf("syslog output: unknown facility %q", cfg.Facility)
	}
	if cfg.AppName == "" {
		cfg.AppName = "palisade"
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 8192
		if network == "tcp" {
			cfg.MaxMessage = 65536
		}
	}
	host, _ := os.Hostname()
	return &SyslogOutput{cfg: cfg, network: network, addr: addr, facility: fac,
		hostname: headerField(host, 255), pid: strconv.Itoa(os.Getpid())}, nil
}

func parseSyslogAddress(s string) (network, addr string, err error) {
	switch {
	case s == "":
		return "", "", fmt.Errorf("syslog output: empty address (want unix:///dev/log, udp://HOST:PORT or tcp://HOST:PORT)")
	case strings.HasPrefix(s, "unix://"):
		return "unix", strings.TrimPrefix(s, "unix://"), nil
	case strings.HasPrefix(s, "/"):
		return "unix", s, nil
	case strings.HasPrefix(s, "udp://"):
		return "udp", strings.TrimPrefix(s, "udp://"), nil
	case strings.HasPrefix(s, "tcp://"):
		return "tcp", strings.TrimPrefix(s, "tcp://"), nil
	}
	if _, _, err := net.SplitHostPort(s); err == nil && !strings.Contains(s, "://") {
		return "udp", s, nil
	}
	return "", "", fmt.Errorf("syslog output: bad address %q (want unix:///dev/log, udp://HOST:PORT or tcp://HOST:PORT)", s)
}

// Name implements Output.
func (o *SyslogOutput) Name() string { return "syslog" }

func (o *SyslogOutput) dial(ctx context.Context) error {
	if o.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	if o.network == "unix" {
		// /dev/log is a datagram socket on most systems, a stream on some.
		c, err := d.DialContext(ctx, "unixgram", o.addr)
		if err != nil {
			c, err = d.DialContext(ctx, "unix", o.addr)
		}
		if err != nil {
			return fmt.Errorf("connect to syslog %s: %w", o.addr, err)
		}
		o.conn = c
		return nil
	}
	c, err := d.DialContext(ctx, o.network, o.addr)
	if err != nil {
		return fmt.Errorf("connect to syslog %s: %w", o.addr, err)
	}
	o.conn = c
	return nil
}

// Write implements Output.
func (o *SyslogOutput) Write(ctx context.Context, batch []alert.Alert) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, a := range batch {
		msg := o.Format(a)
		if o.network == "tcp" {
			msg = strconv.Itoa(len(msg)) + " " + msg
		}
		var err error
		for attempt := 0; attempt < 2; attempt++ {
			if err = o.dial(ctx); err != nil {
				break
			}
			o.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err = o.conn.Write([]byte(msg)); err == nil {
				break
			}
			o.conn.Close()
			o.conn = nil
		}
		if err != nil {
			return fmt.Errorf("send %d of %d alerts: %w", len(batch)-i, len(batch), err)
		}
	}
	return nil
}

// Format renders one RFC 5424 record (without transport framing):
//
//	<PRI>1 TIMESTAMP HOST APP PID MSGID [palisade@32473 rule=".." priority=".."] MSG
//
// The priority maps straight to the syslog severity (Falco's levels are
// syslog's). MSG is the escaped rule output on one line.
func (o *SyslogOutput) Format(a alert.Alert) string {
	sev := int(a.Priority)
	if sev < 0 || sev > 7 {
		sev = 5
	}
	var b strings.Builder
	b.WriteString("<" + strconv.Itoa(o.facility*8+sev) + ">1 ")
	ts := a.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	b.WriteString(ts.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	b.WriteString(" " + nilValue(o.hostname) + " " + headerField(o.cfg.AppName, 48) + " " + o.pid + " alert ")
	b.WriteString("[" + sdID + ` rule="` + sdParam(a.Rule) + `" priority="` + a.Priority.String() + `"`)
	if c, ok := a.OutputFields["container.name"].(string); ok && c != "" {
		b.WriteString(` container="` + sdParam(c) + `"`)
	}
	if n, ok := a.OutputFields[MergedField]; ok {
		b.WriteString(` merged="` + sdParam(fmt.Sprint(n)) + `"`)
	}
	b.WriteString("] ")
	b.WriteString(escape.Text(a.Output))
	return truncateUTF8(b.String(), o.cfg.MaxMessage)
}

// sdParam escapes a structured-data value: RFC 5424 requires '"', '\' and
// ']' to be backslash-escaped; control characters are escaped first.
func sdParam(s string) string {
	s = escape.Text(s)
	r := strings.NewReplacer(`"`, `\"`, `]`, `\]`)
	return r.Replace(s)
}

// headerField makes a header field valid: printable US-ASCII, no spaces,
// at most n bytes.
func headerField(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func nilValue(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Close implements Output.
func (o *SyslogOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.conn != nil {
		err := o.conn.Close()
		o.conn = nil
		return err
	}
	return nil
}
