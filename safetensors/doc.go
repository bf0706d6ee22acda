// Package safetensors reads and writes the safetensors tensor-file format.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON describing every tensor (dtype, shape and byte range), and then the
// raw tensor bytes. See https://github.com/huggingface/safetensors.
//
// The reader is strict: [Parse] and [Open] accept a file only if its header
// is well-formed and its tensors cover the data section exactly, as the
// reference Rust implementation requires, and they report anything else as
// a [*FormatError] (corrupt input) or an [*UnsupportedError] (a dtype this
// package does not know). [Open] maps the file into memory, so a tensor's
// Data is a read-only view that costs nothing until it is touched.
// [OpenModel] opens a single file or a Hugging Face model folder, sharded
// with a model.safetensors.index.json or not.
//
// The writer is streaming and atomic: [Create] is told every tensor's name
// and largest size up front, reserves room for the header, and then takes
// the tensors one at a time in any order through [Writer.WriteTensor], so
// memory stays bounded by one tensor. [Writer.Commit] writes the header and
// renames the finished file into place; until then the destination is
// untouched. [Encode] and [WriteFile] cover the case where all tensors are
// already in memory.
package safetensors
