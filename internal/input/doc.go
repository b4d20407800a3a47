// Package input reads what a user hands Palisade — files, stdin, FIFOs,
// devices — with a size bound checked while reading, so /dev/zero or a
// 300 MB pipe fails at the bound instead of growing memory, and with the
// read abandoned as soon as the context ends, so a FIFO nobody writes
// cannot hold a command past Ctrl-C.
//
// Each kind of input has a documented default limit (see the Kind values);
// --max-input-size replaces all of them for one run (WithMaxSize). It does
// not parse anything; parsers take the bytes it returns.
package input
