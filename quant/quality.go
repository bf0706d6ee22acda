package quant

import "math"

// Sums accumulate, in float64, what Quality is computed from. Sums of disjoint
// parts of a tensor add up with Add; adding them in a fixed order keeps the
// result independent of how the work was scheduled.
type Sums struct {
	N         int64
	SqErr     float64 // Σ (x − x̂)²
	SqX       float64 // Σ x²
	SqXHat    float64 // Σ x̂²
	XXHat     float64 // Σ x·x̂
	MaxAbsErr float64 // max |x − x̂|
}

// Add adds o to s.
func (s *Sums) Add(o Sums) {
	s.N += o.N
	s.SqErr += o.SqErr
	s.SqX += o.SqX
	s.SqXHat += o.SqXHat
	s.XXHat += o.XXHat
	s.MaxAbsErr = max(s.MaxAbsErr, o.MaxAbsErr)
}

func (s *Sums) add(g groupSums) {
	s.N += int64(g.n)
	s.SqErr += g.sqErr
	s.SqX += g.sqX
	s.SqXHat += g.sqXHat
	s.XXHat += g.xXHat
	s.MaxAbsErr = max(s.MaxAbsErr, g.maxAbsErr)
}

// addConstant adds n elements equal to v, decoded exactly.
func (s *Sums) addConstant(v float32, n int) {
	sq := float64(v) * float64(v) * float64(n)
	s.N += int64(n)
	s.SqX += sq
	s.SqXHat += sq
	s.XXHat += sq
}

// Quality summarises how closely a dequantized tensor follows the original.
type Quality struct {
	Cosine      float64 // cosine similarity of x and x̂; 1 when both are zero
	RMSE        float64 // root mean square error
	MaxAbsError float64 // largest |x − x̂|
	SNRdB       float64 // 10·log10(Σx² / Σ(x−x̂)²); +Inf when the decoding is exact
}

// Quality derives the quality figures from the sums.
func (s Sums) Quality() Quality {
	q := Quality{MaxAbsError: s.MaxAbsErr, Cosine: 1, SNRdB: math.Inf(1)}
	if s.N > 0 {
		q.RMSE = math.Sqrt(s.SqErr / float64(s.N))
	}
	if den := math.Sqrt(s.SqX) * math.Sqrt(s.SqXHat); den > 0 {
		q.Cosine = min(1, s.XXHat/den)
	} else if s.SqX != s.SqXHat {
		q.Cosine = 0 // one side is all zeros, the other is not
	}
	if s.SqErr > 0 {
		q.SNRdB = 10 * math.Log10(s.SqX/s.SqErr)
	}
	return q
}

// Compare computes the quality of xhat as an approximation of x directly; it is
// the slow reference the quantizer's running sums are tested against.
func Compare(x, xhat []float32) Quality {
	var s Sums
	for i := range x {
		var g groupSums
		vf, hf := float64(x[i]), float64(xhat[i])
		d := vf - hf
		g.sqErr, g.sqX, g.sqXHat, g.xXHat, g.maxAbsErr, g.n = d*d, vf*vf, hf*hf, vf*hf, math.Abs(d), 1
		s.add(g)
	}
	return s.Quality()
}
