package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arrowquant/arrowquant/convert"
	"github.com/arrowquant/arrowquant/safetensors"
)

func newDequantize() *cobra.Command {
	var output, dtype string
	cmd := &cobra.Command{
		Use:   "dequantize QUANTIZED -o OUTPUT",
		Short: "Decode a quantized model back to a plain safetensors model",
		Long: `Decode every quantized tensor of a file written by 'arrowquant quantize' and write
a plain safetensors model that any safetensors reader loads. Tensors that were kept
are copied unchanged. Without --dtype each tensor gets back its original dtype. A Parquet or Arrow result
table (from 'arrowquant quantize … -o OUT.parquet') gives its layers as F32 by default.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return usagef("dequantize: the output is required: -o OUTPUT")
			}
			var dt safetensors.DType
			switch strings.ToLower(dtype) {
			case "":
			case "f32", "float32":
				dt = safetensors.F32
			case "f16", "float16":
				dt = safetensors.F16
			case "bf16", "bfloat16":
				dt = safetensors.BF16
			default:
				return usagef("invalid --dtype %q: must be f32, f16 or bf16", dtype)
			}
			if convert.IsTable(args[0]) {
				if err := convert.DequantizeTable(args[0], output, dt); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", output)
				return nil
			}
			m, err := safetensors.OpenModel(args[0])
			if err != nil {
				return err
			}
			defer m.Close()
			if err := convert.Dequantize(m, output, dt); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", output)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output file, or folder for a sharded model (required)")
	cmd.Flags().StringVar(&dtype, "dtype", "", "dtype of decoded tensors: f32, f16 or bf16 (default: each tensor's original dtype)")
	return cmd
}
