package batch

import (
	"sync"

	"github.com/arrowquant/arrowquant/quant"
)

// recycler keeps the memory of emitted results for the layers that start
// after them, when Options.RecycleResults allows it. The feeder takes from it
// and the collector gives back, hence the lock.
type recycler struct {
	mu    sync.Mutex
	free  []buffers
	bytes int64 // held in free
	limit int64 // most bytes free may hold; the window bounds the rest
}

// buffers is the memory of one result.
type buffers struct {
	codes          []byte
	scales, zeroes []float32
}

func (b buffers) size() int64 { return int64(cap(b.codes)) + 4*int64(cap(b.scales)+cap(b.zeroes)) }

// get returns buffers of the given lengths: recycled ones when some are large
// enough (the smallest such, so that big buffers stay for big layers), else
// new ones, as from a nil recycler. Recycled memory holds an earlier layer's
// bytes; the engine overwrites all of it, as it does a Destination.
func (r *recycler) get(codesLen, paramsLen int) buffers {
	if r == nil {
		return buffers{make([]byte, codesLen), make([]float32, paramsLen), make([]float32, paramsLen)}
	}
	r.mu.Lock()
	best := -1
	for i, b := range r.free {
		if cap(b.codes) >= codesLen && cap(b.scales) >= paramsLen && cap(b.zeroes) >= paramsLen &&
			(best < 0 || b.size() < r.free[best].size()) {
			best = i
		}
	}
	var b buffers
	if best >= 0 {
		b = r.free[best]
		r.free[best] = r.free[len(r.free)-1]
		r.free = r.free[:len(r.free)-1]
		r.bytes -= b.size()
	}
	r.mu.Unlock()
	if best < 0 {
		return (*recycler)(nil).get(codesLen, paramsLen)
	}
	return buffers{b.codes[:codesLen], b.scales[:paramsLen], b.zeroes[:paramsLen]}
}

// put takes back the memory of t, unless r is nil or that would hold more
// than limit bytes idle: then the garbage collector has it.
func (r *recycler) put(t *quant.Tensor) {
	if r == nil {
		return
	}
	b := buffers{t.Codes, t.Scales, t.ZeroPoints}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes+b.size() <= r.limit {
		r.free = append(r.free, b)
		r.bytes += b.size()
	}
}
