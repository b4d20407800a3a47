package outputs

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDispatcherDeadWebhook sends alerts as fast as the caller can to
// a file output plus a webhook that is dead — "refused" (nothing listens)
// or "hung" (accepts, never answers). It reports the caller's Send rate,
// the file's delivery rate and what each output dropped: a dead webhook
// must cost the caller nothing. The paced runs show that at a steady
// 20,000 alerts/s nothing is dropped: the webhook's alerts all reach the
// spool.
func BenchmarkDispatcherDeadWebhook(b *testing.B) {
	for _, tc := range []struct {
		mode string
		rate int // alerts/s the caller sends at; 0 = flat out
	}{{"refused", 0}, {"hung", 0}, {"refused", 20000}, {"hung", 20000}} {
		mode := tc.mode
		name := mode + "/flat-out"
		if tc.rate > 0 {
			name = fmt.Sprintf("%s/%d-per-s", mode, tc.rate)
		}
		b.Run(name, func(b *testing.B) {
			url := "http://127.0.0.1:1/"
			if mode == "hung" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				defer ln.Close()
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						defer c.Close() // hold it open, never answer
					}
				}()
				url = "http://" + ln.Addr().String() + "/"
			}
			dir := b.TempDir()
			w, err := NewWebhookOutput(WebhookConfig{URL: url, SpoolDir: filepath.Join(dir, "spool"), Timeout: 2 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			f, err := NewFileOutput(FileConfig{Path: filepath.Join(dir, "alerts.jsonl")})
			if err != nil {
				b.Fatal(err)
			}
			d := NewDispatcher([]Output{f, w}, DispatcherOptions{})
			a := testAlert(1)
			a.Output = "A shell was spawned in a container with an attached terminal (user=root container_name=web shell=bash parent=runc cmdline=bash -i)"
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				d.Send(a)
				if tc.rate > 0 && i%100 == 99 {
					time.Sleep(time.Until(start.Add(time.Duration(i+1) * time.Second / time.Duration(tc.rate))))
				}
			}
			sendDur := time.Since(start)
			b.StopTimer()
			// The file output's own rate: until its queue is empty.
			for st := d.Stats()[0]; st.Delivered+st.Dropped < uint64(b.N); st = d.Stats()[0] {
				time.Sleep(time.Millisecond)
			}
			fileDur := time.Since(start)
			d.Close(30 * time.Second)
			st := d.Stats()
			b.ReportMetric(float64(b.N)/sendDur.Seconds(), "sends/s")
			b.ReportMetric(float64(st[0].Delivered)/fileDur.Seconds(), "file-alerts/s")
			b.ReportMetric(float64(st[0].Dropped), "file-drops")
			b.ReportMetric(float64(st[1].Dropped), "webhook-drops")
			b.ReportMetric(float64(w.Spooled()), "webhook-spooled")
		})
	}
}
