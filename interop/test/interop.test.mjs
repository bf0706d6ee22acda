// Reads the result files interop/gen wrote (results.parquet, results.arrow)
// with readers this project did not write — hyparquet with
// hyparquet-compressors for zstd Parquet, apache-arrow for the Arrow IPC
// file — decodes every layer with the formula of docs/FORMAT.md, and
// compares names, shapes, bit widths, group sizes and the decoded values
// with what the Go decoder (quant.Dequantize) made of them (expected.json).
//
//   INTEROP_DIR=/path/to/generated node --test test/

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetMetadata, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { tableFromIPC, Type } from 'apache-arrow'

const dir = process.env.INTEROP_DIR
if (!dir) {
  throw new Error('INTEROP_DIR must name the directory interop/gen wrote')
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'))

// dequantize decodes one layer exactly as docs/FORMAT.md says: codes
// packed row by row, every row starting on a byte boundary, column c at bit
// c·bits of its row (lower columns in lower bits); x = (q − z)·s, each step
// rounded to float32.
function dequantize ({ shape, bits, groupSize, codes, scales, zeroPoints }) {
  const cols = shape[shape.length - 1]
  const elements = shape.reduce((a, b) => a * b, 1)
  const rows = elements / cols
  const rowBytes = Math.ceil(cols * bits / 8)
  const groupsPerRow = Math.ceil(cols / groupSize)
  assert.equal(codes.length, rows * rowBytes, 'bytes of codes')
  assert.equal(scales.length, rows * groupsPerRow, 'number of scales')
  assert.equal(zeroPoints.length, rows * groupsPerRow, 'number of zero points')
  const mask = (1 << bits) - 1
  const out = new Float32Array(elements)
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const bit = c * bits
      const q = (codes[r * rowBytes + (bit >> 3)] >> (bit & 7)) & mask
      const g = r * groupsPerRow + Math.floor(c / groupSize)
      out[r * cols + c] = Math.fround(Math.fround(q - zeroPoints[g]) * scales[g])
    }
  }
  return out
}

// sha256 hashes float32 values as little-endian bytes, as the Go side does.
function sha256 (values) {
  const bytes = new DataView(new ArrayBuffer(4 * values.length))
  values.forEach((v, i) => bytes.setFloat32(4 * i, v, true))
  return createHash('sha256').update(new Uint8Array(bytes.buffer)).digest('hex')
}

// checkLayers compares layers read by a foreign reader with expected.json.
function checkLayers (layers) {
  assert.deepEqual(layers.map(l => l.name), expected.layers.map(l => l.name), 'layer names, in order')
  for (const [i, want] of expected.layers.entries()) {
    const got = layers[i]
    assert.deepEqual(got.shape, want.shape, `${want.name}: shape`)
    assert.equal(got.bits, want.bits, `${want.name}: bit width`)
    assert.equal(got.groupSize, want.group_size, `${want.name}: group size`)
    assert.equal(got.cosine, want.cosine, `${want.name}: cosine`)
    assert.equal(got.rmse, want.rmse, `${want.name}: rmse`)
    const values = dequantize(got)
    assert.equal(values.length, want.elements, `${want.name}: elements`)
    assert.deepEqual(Array.from(values.subarray(0, want.head.length)), want.head, `${want.name}: first values`)
    assert.equal(sha256(values), want.sha256, `${want.name}: every decoded value`)
  }
}

function arrayBufferOf (path) {
  const b = readFileSync(path)
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)
}

test('hyparquet reads the zstd Parquet file, and its values decode to the Go decoder\'s', async () => {
  const file = arrayBufferOf(join(dir, 'results.parquet'))
  const md = parquetMetadata(file)
  const kv = Object.fromEntries((md.key_value_metadata ?? []).map(({ key, value }) => [key, value]))
  assert.equal(kv['arrowquant.format_version'], expected.format_version, 'format version metadata')
  assert.ok(md.row_groups.length > 1, 'the file has several row groups')
  assert.ok(md.row_groups.every(rg => rg.columns.every(c => c.meta_data.codec === 'ZSTD')), 'every column chunk is zstd')

  // utf8: false keeps quantized_data (BYTE_ARRAY without annotation) as bytes.
  const rows = await parquetReadObjects({ file, compressors, utf8: false })
  checkLayers(rows.map(r => ({
    name: r.layer_name,
    shape: r.shape.map(Number),
    bits: r.bit_width,
    groupSize: r.group_size,
    codes: r.quantized_data,
    scales: r.scales,
    zeroPoints: r.zero_points,
    cosine: r.cosine,
    rmse: r.rmse
  })))
})

test('apache-arrow reads the IPC file with the documented schema, and its values decode to the Go decoder\'s', () => {
  const table = tableFromIPC(readFileSync(join(dir, 'results.arrow')))
  assert.equal(table.schema.metadata.get('arrowquant.format_version'), expected.format_version, 'format version metadata')
  const types = Object.fromEntries(table.schema.fields.map(f => [f.name, f.type]))
  assert.deepEqual(table.schema.fields.map(f => f.name),
    ['layer_name', 'shape', 'bit_width', 'group_size', 'quantized_data', 'scales', 'zero_points', 'cosine', 'rmse'])
  assert.equal(types.layer_name.typeId, Type.Utf8)
  assert.equal(types.shape.typeId, Type.List)
  assert.equal(String(types.shape.children[0].type), 'Int64')
  assert.equal(String(types.bit_width), 'Uint8')
  assert.equal(String(types.group_size), 'Uint32')
  assert.equal(types.quantized_data.typeId, Type.LargeBinary)
  for (const name of ['scales', 'zero_points']) {
    assert.equal(types[name].typeId, Type.LargeList, `${name} is a large_list`)
    assert.equal(String(types[name].children[0].type), 'Float32')
  }
  assert.equal(String(types.cosine), 'Float64')
  assert.equal(table.schema.fields.some(f => f.nullable), false, 'no column is nullable')

  const layers = []
  for (let i = 0; i < table.numRows; i++) {
    const r = table.get(i)
    layers.push({
      name: r.layer_name,
      shape: Array.from(r.shape.toArray(), Number),
      bits: r.bit_width,
      groupSize: r.group_size,
      codes: r.quantized_data,
      scales: r.scales.toArray(),
      zeroPoints: r.zero_points.toArray(),
      cosine: r.cosine,
      rmse: r.rmse
    })
  }
  checkLayers(layers)
})

test('the worked example of docs/FORMAT.md decodes as documented', () => {
  // Layer w, shape [2, 3], 4 bits, groups of 3: one group per row.
  const values = dequantize({
    shape: [2, 3],
    bits: 4,
    groupSize: 3,
    codes: [0x50, 0x0f, 0xb0, 0x0f],
    scales: [0.0200042725, 0.133422852].map(Math.fround),
    zeroPoints: [0.00160121918, 7.5].map(Math.fround)
  })
  const want = [-3.20312247e-05, 0.0999893323, 0.300032049, -1.00067139, 0.46697998, 1.00067139].map(Math.fround)
  assert.deepEqual(Array.from(values), want)
})
