package safetensors

import (
	"errors"
	"fmt"
	"strconv"
)

// A FormatError reports that the input is not a valid safetensors file (or
// model folder). File is the path given to the reader, Tensor the tensor the
// problem was found in (empty if none).
type FormatError struct {
	File   string
	Tensor string
	Msg    string
}

func (e *FormatError) Error() string { return message(e.File, e.Tensor, e.Msg) }

// An UnsupportedError reports that the input is well-formed but uses a
// feature this package does not implement, such as a dtype it does not know.
type UnsupportedError struct {
	File   string
	Tensor string
	Msg    string
}

func (e *UnsupportedError) Error() string { return message(e.File, e.Tensor, e.Msg) }

// message formats "safetensors: <file>: tensor "<name>": <msg>", leaving out
// the parts that are empty.
func message(file, tensor, msg string) string {
	s := "safetensors: "
	if file != "" {
		s += file + ": "
	}
	if tensor != "" {
		s += "tensor " + strconv.Quote(tensor) + ": "
	}
	return s + msg
}

// errorf returns a plain error, formatted like the two above, for a caller's
// mistake rather than bad input.
func errorf(file, tensor, format string, args ...any) error {
	return errors.New(message(file, tensor, fmt.Sprintf(format, args...)))
}
