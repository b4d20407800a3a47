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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
