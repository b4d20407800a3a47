package detect

import (
	"context"
	"errors"
	"io"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/replay"
)

// Recorded is a Source over a recording (watch --record).
type Recorded struct {
	r *replay.Reader
}

// NewRecorded reads events from r; name is what errors call the input.
func NewRecorded(r io.Reader, name string) *Recorded {
	return &Recorded{r: replay.NewReader(r, name)}
}

// Run emits every recorded event in order. A bad record ends the run with
// an error naming its position; ctx is checked between events.
func (s *Recorded) Run(ctx context.Context, emit func(*event.Event) error) error {
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return nil
		}
		e, err := s.r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := emit(e); err != nil {
			return err
		}
	}
}
