package outputs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/palisade-sec/palisade/internal/alert"
)

// FileConfig configures the file output.
type FileConfig struct {
	Path       string   `yaml:"path"`
	Format     string   `yaml:"format"`      // json (default) or text
	MaxSize    ByteSize `yaml:"max_size"`    // rotate when the file would exceed this; default 100MiB, 0 in YAML keeps the default
	MaxBackups int      `yaml:"max_backups"` // PATH.1 ... PATH.N kept; default 5
}

// FileOutput appends alerts to a file and rotates it by size: PATH becomes
// PATH.1, PATH.1 becomes PATH.2 and so on, up to MaxBackups files.
type FileOutput struct {
	cfg    FileConfig
	format Format
	mu     sync.Mutex
	f      *os.File
	size   int64
}

// NewFileOutput opens (creating if needed) the file for appending.
func NewFileOutput(cfg FileConfig) (*FileOutput, error) {
	if cfg.Format == "" {
		cfg.Format = string(FormatJSON)
	}
	format, err := ParseFormat(cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("file output: %w", err)
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 100 << 20
	}
	if cfg.MaxBackups <= 0 {
		cfg.MaxBackups = 5
	}
	o := &FileOutput{cfg: cfg, format: format}
	if err := o.open(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *FileOutput) open() error {
	if err := os.MkdirAll(filepath.Dir(o.cfg.Path), 0o750); err != nil {
		return fmt.Errorf("open alert file: %w", err)
	}
	f, err := os.OpenFile(o.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open alert file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open alert file: %w", err)
	}
	o.f, o.size = f, st.Size()
	return nil
}

// Name implements Output.
func (o *FileOutput) Name() string { return "file" }

// Write implements Output. A batch is written with one write(2) per
// rotation segment.
func (o *FileOutput) Write(_ context.Context, batch []alert.Alert) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var buf []byte
	for _, a := range batch {
		line, err := o.line(a)
		if err != nil {
			return err
		}
		if o.size+int64(len(buf))+int64(len(line)) > int64(o.cfg.MaxSize) && o.size+int64(len(buf)) > 0 {
			if err := o.flush(buf); err != nil {
				return err
			}
			buf = buf[:0]
			if err := o.rotate(); err != nil {
				return err
			}
		}
		buf = append(buf, line...)
	}
	return o.flush(buf)
}

func (o *FileOutput) line(a alert.Alert) ([]byte, error) {
	if o.format == FormatText {
		return []byte(FormatTextLine(a, false)), nil
	}
	b, err := FalcoJSON(a)
	if err != nil {
		return nil, fmt.Errorf("encode alert: %w", err)
	}
	return append(b, '\n'), nil
}

func (o *FileOutput) flush(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := o.f.Write(buf)
	o.size += int64(n)
	if err != nil {
		return fmt.Errorf("write alert file: %w", err)
	}
	return nil
}

func (o *FileOutput) rotate() error {
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("rotate alert file: %w", err)
	}
	p := o.cfg.Path
	os.Remove(fmt.Sprintf("%s.%d", p, o.cfg.MaxBackups))
	for i := o.cfg.MaxBackups - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", p, i), fmt.Sprintf("%s.%d", p, i+1))
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return fmt.Errorf("rotate alert file: %w", err)
	}
	return o.open()
}

// Close implements Output.
func (o *FileOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		return fmt.Errorf("close alert file: %w", err)
	}
	return o.f.Close()
}
