package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/arrowquant/arrowquant/convert"
	"github.com/arrowquant/arrowquant/safetensors"
)

func newInspect() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE",
		Short: "List the tensors of a model or result table, with quantization parameters and bits per weight",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var entries []convert.Entry
			if convert.IsTable(args[0]) {
				var err error
				if entries, err = convert.ReadTable(args[0]); err != nil {
					return err
				}
			} else {
				m, err := safetensors.OpenModel(args[0])
				if err != nil {
					return err
				}
				defer m.Close()
				if entries, err = convert.Read(m); err != nil {
					return err
				}
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(w, "TENSOR\tDTYPE\tSHAPE\tQUANTIZATION\tBITS/WEIGHT")
			var params, qparams, bytes, qbytes int64
			for _, e := range entries {
				n := e.Elements()
				params += n
				bytes += e.StoredBytes
				bpw := 8 * float64(e.StoredBytes) / float64(max(n, 1))
				if e.Quant == nil {
					fmt.Fprintf(w, "%s\t%s\t%v\t-\t%.2f\n", e.Name, e.Plain.DType, e.Plain.Shape, bpw)
					continue
				}
				qparams += n
				qbytes += e.StoredBytes
				src := string(e.SourceDType)
				if src == "" {
					src = "-" // a result table does not record it
				}
				fmt.Fprintf(w, "%s\t%s\t%v\t%d-bit, groups of %d, %v scales\t%.3f\n",
					e.Name, src, e.Quant.Shape, e.Quant.Bits, e.Quant.GroupSize, e.Quant.Format, bpw)
			}
			w.Flush()
			fmt.Fprintf(cmd.OutOrStdout(), "%d tensors, %s parameters, %s of tensor data", len(entries), countString(params), bytesString(bytes))
			if qparams > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "; %s parameters quantized at %.3f bits/weight", countString(qparams), 8*float64(qbytes)/float64(qparams))
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
}
