// Command capi is the C ABI of arrowquant: built with
//
//	go build -buildmode=c-shared -o python/arrowquant/_lib/libarrowquant.so ./python/capi
//
// (make python does it), it exports a handful of C functions through which the
// Python package quantizes numpy arrays with package batch and decodes them
// with quant.DequantizeInto. README.md in this directory is the reference of
// every function, structure, return code and ownership rule.
//
// The rules in one paragraph: the caller allocates every buffer, inputs and
// outputs alike, and Go reads and writes them in place during the call only;
// Go never returns memory it allocated and keeps no pointer after a call
// returns. Every function recovers Go panics and turns them into a return
// code and a message. Calls may come from any thread and release nothing the
// caller holds; a long call can be cancelled from another thread through its
// aq_control block.
package main

func main() {}
