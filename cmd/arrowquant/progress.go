package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progress shows how far a quantization is: a bar on a terminal, moved
// after every chunk, or else a plain line every few seconds, or nothing when
// quiet. update is called from one goroutine; advance from the workers, and
// mpb's bar is safe for that.
type progress struct {
	total int64
	start time.Time
	bar   *mpb.Bar
	p     *mpb.Progress
	plain io.Writer
	last  time.Time
}

func newProgress(out, errOut io.Writer, total int64, quiet bool) *progress {
	pr := &progress{total: total, start: time.Now(), last: time.Now()}
	if quiet || total == 0 {
		return pr
	}
	if f, ok := errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		pr.p = mpb.New(mpb.WithOutput(f), mpb.WithWidth(40), mpb.WithAutoRefresh())
		start := pr.start
		pr.bar = pr.p.New(total, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name("quantizing "), decor.Any(func(s decor.Statistics) string {
				return fmt.Sprintf("%s / %s params", countString(s.Current), countString(s.Total))
			})),
			mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string {
				return fmt.Sprintf("%s params/s", countString(int64(float64(s.Current)/max(time.Since(start).Seconds(), 1e-9))))
			}), decor.Name(" ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
		return pr
	}
	pr.plain = errOut
	return pr
}

// advance is the batch Advance callback: elements of one chunk are done.
func (pr *progress) advance(elements int) {
	if pr.bar != nil {
		pr.bar.IncrInt64(int64(elements))
	}
}

// update is the batch Progress callback: one layer is done.
func (pr *progress) update(layer string, fraction float64) {
	done := int64(fraction * float64(pr.total))
	if fraction == 1 {
		done = pr.total
	}
	if pr.plain != nil && (time.Since(pr.last) >= 2*time.Second || fraction == 1) {
		pr.last = time.Now()
		elapsed := time.Since(pr.start).Seconds()
		fmt.Fprintf(pr.plain, "quantizing: %5.1f%% (%s of %s params, %s params/s)\n",
			100*fraction, countString(done), countString(pr.total), countString(int64(float64(done)/max(elapsed, 1e-9))))
	}
}

func (pr *progress) finish(ok bool) {
	if pr.p == nil {
		return
	}
	if !ok {
		pr.bar.Abort(false)
	} else {
		pr.bar.SetCurrent(pr.total)
	}
	pr.p.Wait()
}
