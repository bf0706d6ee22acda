// Package arrowio connects arrowquant to Apache Arrow: it quantizes the
// layers of an Arrow table and stores the results as an Arrow table, written
// as Parquet or as an Arrow IPC file, that any Arrow or Parquet reader can
// decode.
//
// # Input
//
// An input table has one row per layer and the columns
//
//	layer_name  utf8 or large_utf8                      not null
//	weights     list, large_list or fixed_size_list
//	            of float32 or float16                     not null, no null elements
//	shape       list or large_list of int64               optional; absent or null means [len(weights)]
//
// Other columns are ignored. [Layers] views the weights of every row, in
// every record batch, as a [batch.Layer] whose Data is a slice of the Arrow
// values buffer itself: nothing is copied, float16 weights included (they
// reach the engine as raw binary16, which it decodes exactly). [Stream] and
// [Quantize] run those layers through the batch engine (package batch), so
// the codes and scales are byte for byte those of [batch.Quantize].
//
// Problems are reported the way the engine reports them: a schema problem is
// a [*ColumnError] and stops everything; a problem with one row (null name or
// weights, a shape that does not match the weights, a duplicate name, NaN or
// ±Inf in the weights) is a [*batch.LayerError] wrapping a [*RowError] that
// names the row and the column (a row without a name gets a bare
// [*RowError]). All of them are joined into one error, in layer name order;
// with batch.Options.ContinueOnError the good layers are quantized anyway.
//
// # Output
//
// [ResultSchema] is the result table: one row per layer, sorted by name,
// with the packed codes, scales, zero points and quality figures; see
// docs/FORMAT.md for the exact layout and the decoding formula.
// [Quantize] returns it as an in-memory table. [CreateParquet] and
// [CreateIPC] return a [Writer] that takes the results one at a time, as
// [batch.Stream] or [Stream] emits them, so that memory stays bounded by a
// few layers; the file appears at its path only when [Writer.Commit]
// succeeds.
//
// # Reading
//
// [OpenTable] opens a Parquet or Arrow IPC file (recognised by its magic
// bytes, not by its name), whether it holds weights or results.
// [ReadResults] and [Results] turn a result table back into [quant.Tensor]
// values for [quant.Dequantize], checking every row.
//
// # Untrusted files
//
// The readers are fuzzed (FuzzOpenTable). arrow-go's readers panic on some
// corrupt inputs; OpenTable turns those panics into a *FormatError. Worse,
// they trust some lengths in the file for an allocation — a count of schema
// fields or children in an IPC file, a Parquet schema's num_children, a
// column chunk's size — so that a file of a few hundred bytes could make
// them allocate tens of gigabytes and kill the process; OpenTable checks
// those lengths first (ipc_verify.go, parquet_verify.go).
//
// Parquet is read and written with arrow-go's low-level parquet/file
// package, not parquet/pqarrow: pqarrow links Arrow Flight, gRPC and
// protobuf into every program that uses it (about 9 MB more binary, and a
// longer clean build).
package arrowio
