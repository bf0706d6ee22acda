package arrowio

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/apache/thrift/lib/go/thrift"
)

// maxSchemaDepth bounds the nesting of a Parquet schema: arrow-go builds it
// recursively.
const maxSchemaDepth = 64

// verifyParquetSchema checks the schema in a Parquet footer before arrow-go
// parses it. arrow-go sizes each group's field slice by the group's
// num_children as written in the file, so a corrupted count of 2^31 makes it
// allocate 32 GiB at once and kills the process (a fatal out-of-memory
// error, which recover cannot catch). This walks the footer's Thrift
// (FileMetaData field 2, a list of SchemaElement whose field 5 is
// num_children) and refuses a tree whose counts do not add up, and nesting
// deeper than maxSchemaDepth: arrow-go then allocates no more slots than
// there are elements. Anything else it cannot read is left for arrow-go to
// report.
func verifyParquetSchema(data []byte) error {
	n := len(data)
	if n < 12 || !bytes.Equal(data[n-4:], parquetMagic) {
		return nil
	}
	flen := int64(binary.LittleEndian.Uint32(data[n-8:]))
	if flen > int64(n-12) {
		return nil
	}
	footer := data[int64(n-8)-flen : n-8]
	buf := thrift.NewTMemoryBufferLen(len(footer))
	buf.Write(footer)
	p := thrift.NewTCompactProtocolConf(buf, &thrift.TConfiguration{})
	ctx := context.Background()
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return nil
	}
	for {
		_, typ, id, err := p.ReadFieldBegin(ctx)
		if err != nil || typ == thrift.STOP {
			return nil
		}
		if id == 2 && typ == thrift.LIST {
			return schemaElementsOK(ctx, p)
		}
		if err := p.Skip(ctx, typ); err != nil {
			return nil
		}
	}
}

// schemaElementsOK reads the list of SchemaElement and checks their
// num_children as a tree in pre-order.
func schemaElementsOK(ctx context.Context, p *thrift.TCompactProtocol) error {
	_, size, err := p.ReadListBegin(ctx)
	if err != nil {
		return nil
	}
	var open []int64 // children still expected by each open group
	for i := range size {
		children := int64(0)
		if _, err := p.ReadStructBegin(ctx); err != nil {
			return nil
		}
		for {
			_, typ, id, err := p.ReadFieldBegin(ctx)
			if err != nil {
				return nil
			}
			if typ == thrift.STOP {
				break
			}
			if id == 5 && typ == thrift.I32 {
				v, err := p.ReadI32(ctx)
				if err != nil {
					return nil
				}
				children = int64(v)
				continue
			}
			if err := p.Skip(ctx, typ); err != nil {
				return nil
			}
		}
		if children < 0 || children > int64(size-i-1) {
			return fmt.Errorf("Parquet schema element %d claims %d children, but %d elements follow", i, children, size-i-1)
		}
		if len(open) > 0 {
			open[len(open)-1]--
		}
		if children > 0 {
			open = append(open, children)
			if len(open) > maxSchemaDepth {
				return fmt.Errorf("Parquet schema nested deeper than %d levels", maxSchemaDepth)
			}
		}
		for len(open) > 0 && open[len(open)-1] == 0 {
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		// arrow-go would stop at the missing elements, but only after
		// allocating for every group open at that point.
		return fmt.Errorf("Parquet schema: a group claims %d more children than the schema holds", open[len(open)-1])
	}
	return nil
}
