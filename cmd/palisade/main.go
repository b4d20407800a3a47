// Command palisade is the Palisade runtime container security tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/palisade-sec/palisade/internal/cli"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := (<-sigs).(syscall.Signal)
		cancel(&cli.Interrupted{Signal: sig})
		// A second signal means the user will not wait for a clean stop.
		sig = (<-sigs).(syscall.Signal)
		os.Exit((&cli.Interrupted{Signal: sig}).ExitCode())
	}()
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel(nil)
	os.Exit(code)
}
