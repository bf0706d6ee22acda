package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/spf13/cobra"

	"github.com/arrowquant/arrowquant/arrowio"
	"github.com/arrowquant/arrowquant/convert"
	"github.com/arrowquant/arrowquant/internal/atomicfile"
	"github.com/arrowquant/arrowquant/quant"
	"github.com/arrowquant/arrowquant/safetensors"
)

type quantizeFlags struct {
	output          string
	bits, groupSize int
	workers         int
	keep            []string
	quantizeAll     bool
	minElements     int64
	continueOnError bool
	report          string
	dryRun          bool
	quiet           bool
	scales          string
	format          string
}

func newQuantize() *cobra.Command {
	var f quantizeFlags
	cmd := &cobra.Command{
		Use:   "quantize INPUT -o OUTPUT",
		Short: "Quantize a safetensors model (a file or a sharded folder)",
		Long: `Quantize the floating tensors of a safetensors model to 2, 4 or 8 bits in groups
along each row, with one scale and zero point per group. By default floating tensors
of rank ≥ 2 with at least --min-elements elements are quantized; biases, norms,
scalars and integer tensors are kept as they are, and so is every tensor whose name
matches a --keep regular expression. A folder (Hugging Face shards with
model.safetensors.index.json) gives a folder with the same shards.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runQuantize(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "output file, or folder for a sharded model (required)")
	fl.IntVar(&f.bits, "bits", 4, "bit width: 2, 4 or 8")
	fl.IntVar(&f.groupSize, "group-size", quant.DefaultGroupSize, "elements per group along the last dimension")
	fl.IntVar(&f.workers, "workers", 0, "cores to use, one quantizing worker each (default: all cores)")
	fl.StringArrayVar(&f.keep, "keep", nil, "keep tensors whose name matches this regular expression (repeatable)")
	fl.BoolVar(&f.quantizeAll, "quantize-all", false, "quantize every floating tensor of rank ≥ 1, ignoring --keep and --min-elements")
	fl.Int64Var(&f.minElements, "min-elements", convert.DefaultMinElements, "keep tensors with fewer elements")
	fl.BoolVar(&f.continueOnError, "continue-on-error", false, "keep tensors that fail to quantize (e.g. NaN) as they are instead of failing")
	fl.StringVar(&f.report, "report", "", "write every per-layer figure as JSON to this file")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and the output size without writing")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors")
	fl.StringVar(&f.scales, "scales", "f16", "storage of scales and zero points: f16 (float32 where float16 cannot hold them) or f32")
	fl.StringVar(&f.format, "format", "", "output format: safetensors, parquet or arrow (default: from the output's extension, else safetensors)")
	return cmd
}

func (f quantizeFlags) options() (convert.Options, error) {
	var o convert.Options
	if f.output == "" && !f.dryRun {
		return o, usagef("quantize: the output is required: -o OUTPUT")
	}
	if f.workers < 0 {
		return o, usagef("invalid --workers %d: must be at least 1 (0 means all cores)", f.workers)
	}
	if f.minElements < 0 {
		return o, usagef("invalid --min-elements %d: must not be negative", f.minElements)
	}
	if f.groupSize < 1 { // zero would mean the default to the library
		return o, usagef("invalid --group-size %d: must be at least 1", f.groupSize)
	}
	if err := (quant.Params{Bits: f.bits, GroupSize: f.groupSize}).Validate(); err != nil {
		return o, usageError{err}
	}
	switch f.scales {
	case "f16":
		o.Batch.Scales = quant.Float16
	case "f32":
		o.Batch.Scales = quant.Float32
	default:
		return o, usagef("invalid --scales %q: must be f16 or f32", f.scales)
	}
	switch f.format {
	case "", "safetensors", "parquet", "arrow":
	default:
		return o, usagef("invalid --format %q: must be safetensors, parquet or arrow", f.format)
	}
	for _, k := range f.keep {
		re, err := regexp.Compile(k)
		if err != nil {
			return o, usagef("invalid --keep %q: %v", k, err)
		}
		o.Policy.Keep = append(o.Policy.Keep, re)
	}
	o.Policy.MinElements, o.Policy.QuantizeAll = f.minElements, f.quantizeAll
	o.Batch.Bits, o.Batch.GroupSize, o.Batch.Workers, o.Batch.ContinueOnError = f.bits, f.groupSize, f.workers, f.continueOnError
	return o, nil
}

// outputFormat is the format to write: --format, else the output's extension.
func (f quantizeFlags) outputFormat() (string, error) {
	ext := strings.ToLower(filepath.Ext(f.output))
	byExt := map[string]string{".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".arrows": "arrow", ".ipc": "arrow", ".feather": "arrow"}[ext]
	switch {
	case f.format == "":
		if byExt == "" {
			return "safetensors", nil
		}
		return byExt, nil
	case f.format == "safetensors" && byExt != "", f.format != "safetensors" && byExt != f.format:
		return "", usagef("--format %s does not match the output's extension %q", f.format, ext)
	}
	return f.format, nil
}

func runQuantize(cmd *cobra.Command, input string, f quantizeFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	format, err := f.outputFormat()
	if err != nil {
		return err
	}
	if f.workers > 0 {
		// --workers bounds the cores the whole run uses, not only the
		// quantizing goroutines: reading, writing and the runtime share them,
		// so that --workers 1 on a shared server takes one core.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(f.workers))
	}
	out := cmd.OutOrStdout()
	if f.quiet {
		out = io.Discard
	}
	if convert.IsTable(input) {
		return runQuantizeTable(cmd, input, format, f, opts, out)
	}
	m, err := safetensors.OpenModel(input)
	if err != nil {
		return err
	}
	defer m.Close()
	plan, err := convert.NewPlan(m, opts)
	if err != nil {
		return err
	}
	if f.dryRun {
		printPlan(cmd.OutOrStdout(), plan)
		return nil
	}
	var sink convert.Sink
	if format == "safetensors" {
		sink, err = convert.NewSafetensorsSink(f.output, plan, f.continueOnError)
	} else {
		sink, err = convert.NewTableSink(f.output, shardPaths(m))
	}
	if err != nil {
		return err
	}
	defer sink.Abort()
	var total int64
	for _, e := range plan.Entries {
		if e.Quantize {
			total += e.Tensor.NumElements()
		}
	}
	err = report(cmd, f, out, total, &opts, func() (*convert.Report, error) {
		return convert.Quantize(cmd.Context(), plan, sink, opts)
	})
	if n := convert.Dropped(sink); err == nil && n > 0 && !f.quiet {
		fmt.Fprintf(cmd.ErrOrStderr(), "arrowquant: note: a result table holds quantized layers only; the %d kept tensors are not in %s\n", n, f.output)
	}
	return err
}

// report runs a conversion with a progress display for total parameters,
// then prints its summary and writes --report. A conversion that went on
// past bad layers (--continue-on-error) is a success with a warning.
func report(cmd *cobra.Command, f quantizeFlags, out io.Writer, total int64, opts *convert.Options, run func() (*convert.Report, error)) error {
	bar := newProgress(out, cmd.ErrOrStderr(), total, f.quiet)
	opts.Batch.Progress, opts.Batch.Advance = bar.update, bar.advance // run reads opts after this
	rep, err := run()
	partial := errors.Is(err, convert.ErrSomeLayersFailed)
	bar.finish(err == nil || partial)
	if err != nil && !partial {
		if cmd.Context().Err() != nil {
			return fmt.Errorf("interrupted: %s was not written", f.output)
		}
		return err
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "arrowquant: warning: %v\n", err)
	}
	size, _ := convert.Size(f.output)
	printSummary(out, rep, f.output, size, opts.Batch.Workers)
	if f.report != "" {
		return writeReport(f.report, rep)
	}
	return nil
}

// runQuantizeTable quantizes an input table (Parquet or Arrow IPC with
// layer_name, weights and shape columns) into a result table.
func runQuantizeTable(cmd *cobra.Command, input, format string, f quantizeFlags, opts convert.Options, out io.Writer) error {
	if format == "safetensors" {
		return usagef("%s is a table: write a result table with -o OUT.parquet or -o OUT.arrow", input)
	}
	if f.dryRun {
		return usagef("--dry-run plans safetensors models only")
	}
	tbl, closeTable, err := arrowio.OpenTable(input)
	if err != nil {
		return err
	}
	defer closeTable()
	w, err := arrowio.Create(f.output, &arrowio.CreateOptions{Refuse: []string{input}})
	if err != nil {
		return err
	}
	defer w.Abort()
	return report(cmd, f, out, tableParams(tbl), &opts, func() (*convert.Report, error) {
		rep, err := convert.QuantizeTable(cmd.Context(), input, tbl, w, opts)
		if err != nil {
			err = fmt.Errorf("%s: %w", input, err)
		}
		return rep, err
	})
}

// tableParams counts the weights of an input table for the progress bar,
// through views of its buffers; 0 (no bar) if the table cannot be read, in
// which case quantizing it reports why.
func tableParams(tbl arrow.Table) int64 {
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	layers, release, _ := arrowio.Layers(tr)
	if release != nil {
		defer release()
	}
	var n int64
	for _, l := range layers {
		n += int64(len(l.Data) / max(l.DType.Size(), 1))
	}
	return n
}

func shardPaths(m *safetensors.Model) []string {
	var paths []string
	for _, s := range m.Shards {
		paths = append(paths, s.Path)
	}
	return paths
}

func workersOr(n int) int {
	if n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

func printPlan(w io.Writer, plan *convert.Plan) {
	fmt.Fprintf(w, "plan for %s: %d bits, groups of %d\n", plan.Model.Path, plan.Params.Bits, plan.Params.GroupSize)
	var nq, nk int
	for _, e := range plan.Entries {
		t := e.Tensor
		if e.Quantize {
			nq++
			fmt.Fprintf(w, "  quantize %-50s %-4s %v\n", t.Name, t.DType, t.Shape)
		} else {
			nk++
			fmt.Fprintf(w, "  keep     %-50s %-4s %v (%s)\n", t.Name, t.DType, t.Shape, e.Reason)
		}
	}
	in, out := plan.Estimate()
	fmt.Fprintf(w, "%d tensors quantized, %d kept; tensor data %s → about %s (%.2f×, float16 scales; headers not counted)\n",
		nq, nk, bytesString(in), bytesString(out), float64(in)/float64(max(out, 1)))
}

func printSummary(w io.Writer, rep *convert.Report, output string, size int64, workers int) {
	t := rep.Totals()
	fmt.Fprintf(w, "wrote %s\n", output)
	fmt.Fprintf(w, "  tensors     %d quantized, %d kept", t.Quantized, t.Kept)
	if t.Failed > 0 {
		fmt.Fprintf(w, ", %d failed and kept as they were", t.Failed)
	}
	fmt.Fprintln(w)
	reasons := map[string]int{}
	for _, l := range rep.Layers {
		if l.Action == "kept" {
			reasons[reasonKind(l.Reason)]++
		}
	}
	for _, r := range sortedKeys(reasons) {
		fmt.Fprintf(w, "              kept %d: %s\n", reasons[r], r)
	}
	fmt.Fprintf(w, "  parameters  %s quantized of %s\n", countString(t.ParamsQuantized), countString(t.Params))
	fmt.Fprintf(w, "  size        %s → %s (%.2f× smaller)\n", bytesString(t.BytesIn), bytesString(size), float64(t.BytesIn)/float64(max(size, 1)))
	if t.ParamsQuantized > 0 {
		fmt.Fprintf(w, "  bits/weight %.3f over quantized tensors (codes, scales and zero points)\n", 8*float64(t.BytesOutQuantized)/float64(t.ParamsQuantized))
		fmt.Fprintf(w, "  cosine      mean %.6f, worst %.6f\n", t.MeanCosine, t.WorstCosine)
		for _, l := range t.Worst {
			fmt.Fprintf(w, "              %.6f %s\n", *l.Cosine, l.Name)
		}
	}
	if rep.Seconds > 0 {
		n := workersOr(workers)
		fmt.Fprintf(w, "  time        %.2fs, %s params/s on %d %s\n", rep.Seconds, countString(int64(float64(t.ParamsQuantized)/rep.Seconds)), n, map[bool]string{true: "worker", false: "workers"}[n == 1])
	}
}

// reasonKind groups kept-tensor reasons for the summary: sizes differ from
// tensor to tensor, the kind of reason does not.
func reasonKind(r string) string {
	if strings.Contains(r, "--min-elements") {
		return "fewer elements than --min-elements"
	}
	return r
}

func writeReport(path string, rep *convert.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, bytes.NewReader(append(b, '\n')), nil)
}
