package safetensors

import "encoding/json"

// A scanner reads tokens from JSON that json.Valid has accepted, so it
// needs no syntax checks of its own. Its methods stay in bounds on any
// input all the same, so that a mistake here cannot become a panic.
type scanner struct {
	b []byte
	i int
}

// peek returns the next byte that is not white space, or 0 at the end.
func (s *scanner) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// consume skips white space and then c, if c comes next.
func (s *scanner) consume(c byte) bool {
	if s.peek() != c || c == 0 {
		return false
	}
	s.i++
	return true
}

// more reports whether another member or element follows in an object or
// array: it consumes a ',' and returns true, or consumes close and returns
// false.
func (s *scanner) more(close byte) bool {
	if s.consume(',') {
		return true
	}
	s.consume(close)
	return false
}

// str reads the string that comes next (peek has returned '"'), decoding
// escapes exactly as encoding/json does.
func (s *scanner) str() string {
	if s.peek() != '"' {
		return ""
	}
	start := s.i
	s.i++
	escaped := false
	for s.i < len(s.b) && s.b[s.i] != '"' {
		if s.b[s.i] == '\\' {
			escaped = true
			s.i++
		}
		s.i++
	}
	s.i = min(s.i+1, len(s.b))
	raw := s.b[start:s.i]
	if len(raw) < 2 {
		return "" // unterminated: impossible in valid JSON
	}
	if !escaped {
		return string(raw[1 : len(raw)-1])
	}
	var v string
	json.Unmarshal(raw, &v)
	return v
}

// number returns the number literal that comes next.
func (s *scanner) number() []byte {
	s.peek()
	start := s.i
	for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
		s.i++
	}
	return s.b[start:s.i]
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skipLiteral skips the true, false or null that comes next.
func (s *scanner) skipLiteral() {
	s.peek()
	for s.i < len(s.b) && s.b[s.i] >= 'a' && s.b[s.i] <= 'z' {
		s.i++
	}
}
