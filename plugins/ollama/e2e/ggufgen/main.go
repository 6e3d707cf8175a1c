// Command ggufgen writes a tiny random-weight llama model in GGUF v3 format.
//
// The model is meant for exercising a real Ollama server offline: it loads,
// tokenizes, streams tokens and computes embeddings, but its output is
// gibberish. The same seed always produces the same file.
//
//	go run ./plugins/ollama/e2e/ggufgen -out /tmp/tiny.gguf
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"unicode/utf8"
)

// Model shape: small enough to load in well under a second on a CPU.
const (
	nEmbd     = 64
	nLayer    = 2
	nHead     = 4
	nHeadKV   = 2 // grouped-query attention, like most current llama models
	headDim   = nEmbd / nHead
	nFF       = 128
	nCtxTrain = 2048
	alignment = 32
)

// SentencePiece token types, as in llama.cpp / ollama.
const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
	typeByte    = 6
)

// Words that get whole-word pieces. Every prefix of "▁word" is also added,
// because SentencePiece merging builds a piece only from adjacent pieces that
// are themselves in the vocabulary.
var words = []string{
	"hello", "hi", "thanks", "order", "help", "the", "a", "you", "your", "I",
	"can", "is", "it", "to", "and", "please", "ticket", "refund", "agent",
	"weather", "today", "status", "shipped", "sorry", "yes", "no", "tool", "call",
}

type vocab struct {
	tokens []string
	scores []float32
	types  []int32
	index  map[string]bool
}

func (v *vocab) add(tok string, score float32, typ int32) {
	if v.index[tok] {
		return
	}
	v.index[tok] = true
	v.tokens = append(v.tokens, tok)
	v.scores = append(v.scores, score)
	v.types = append(v.types, typ)
}

func buildVocab() *vocab {
	v := &vocab{index: map[string]bool{}}
	// Ids 0..2 are the conventional llama specials.
	v.add("<unk>", 0, typeUnknown)
	v.add("<s>", 0, typeControl)
	v.add("</s>", 0, typeControl)
	// Byte fallback: any text can be encoded even if no piece matches.
	for b := 0; b < 256; b++ {
		v.add(fmt.Sprintf("<0x%02X>", b), 0, typeByte)
	}
	// Single characters, so common text needs few byte tokens. No "{": the
	// Modelfile's tool-call parser takes any JSON object as a tool call, and
	// "{" as a byte token is almost never sampled (see the output head).
	v.add("▁", -1, typeNormal)
	for _, c := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\":;-()[]_/" {
		v.add(string(c), -1, typeNormal)
	}
	// Longer pieces score higher so merges prefer them.
	for _, w := range words {
		piece := "▁" + w
		for n := 2; n <= utf8.RuneCountInString(piece); n++ {
			p := string([]rune(piece)[:n])
			v.add(p, float32(n), typeNormal)
		}
	}
	return v
}

type tensor struct {
	name string
	dims []uint64 // ggml order: dims[0] is the innermost (row length)
	data []float32
}

func main() {
	out := flag.String("out", "tiny.gguf", "output file")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same file")
	flag.Parse()

	rng := rand.New(rand.NewPCG(*seed, 0x5eed))
	v := buildVocab()
	nVocab := len(v.tokens)

	randn := func(n int, std float64) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64() * std)
		}
		return d
	}
	ones := func(n int) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = 1
		}
		return d
	}
	// Output head: zero rows for specials and bytes and large random rows for
	// text pieces, so sampling almost always picks readable pieces and almost
	// never </s>. Replies therefore run until num_predict, giving many chunks.
	outW := make([]float32, nEmbd*nVocab)
	for id := 0; id < nVocab; id++ {
		if v.types[id] != typeNormal {
			continue
		}
		for j := 0; j < nEmbd; j++ {
			outW[id*nEmbd+j] = float32(rng.NormFloat64() * 0.5)
		}
	}

	tensors := []tensor{
		{"token_embd.weight", []uint64{nEmbd, uint64(nVocab)}, randn(nEmbd*nVocab, 1)},
	}
	for l := 0; l < nLayer; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		std := 1 / math.Sqrt(nEmbd)
		tensors = append(tensors,
			tensor{p + "attn_norm.weight", []uint64{nEmbd}, ones(nEmbd)},
			tensor{p + "attn_q.weight", []uint64{nEmbd, nHead * headDim}, randn(nEmbd*nHead*headDim, std)},
			tensor{p + "attn_k.weight", []uint64{nEmbd, nHeadKV * headDim}, randn(nEmbd*nHeadKV*headDim, std)},
			tensor{p + "attn_v.weight", []uint64{nEmbd, nHeadKV * headDim}, randn(nEmbd*nHeadKV*headDim, std)},
			tensor{p + "attn_output.weight", []uint64{nHead * headDim, nEmbd}, randn(nHead*headDim*nEmbd, std)},
			tensor{p + "ffn_norm.weight", []uint64{nEmbd}, ones(nEmbd)},
			tensor{p + "ffn_gate.weight", []uint64{nEmbd, nFF}, randn(nEmbd*nFF, std)},
			tensor{p + "ffn_up.weight", []uint64{nEmbd, nFF}, randn(nEmbd*nFF, std)},
			tensor{p + "ffn_down.weight", []uint64{nFF, nEmbd}, randn(nFF*nEmbd, 1/math.Sqrt(nFF))},
		)
	}
	tensors = append(tensors,
		tensor{"output_norm.weight", []uint64{nEmbd}, ones(nEmbd)},
		tensor{"output.weight", []uint64{nEmbd, uint64(nVocab)}, outW},
	)

	kv := []keyValue{
		{"general.architecture", "llama"},
		{"general.name", "switchboard-tiny"},
		{"general.alignment", uint32(alignment)},
		{"general.file_type", uint32(0)}, // all F32
		{"llama.vocab_size", uint32(nVocab)},
		{"llama.context_length", uint32(nCtxTrain)},
		{"llama.embedding_length", uint32(nEmbd)},
		{"llama.block_count", uint32(nLayer)},
		{"llama.feed_forward_length", uint32(nFF)},
		{"llama.attention.head_count", uint32(nHead)},
		{"llama.attention.head_count_kv", uint32(nHeadKV)},
		{"llama.attention.key_length", uint32(headDim)},
		{"llama.attention.value_length", uint32(headDim)},
		{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		{"llama.rope.dimension_count", uint32(headDim)},
		{"llama.rope.freq_base", float32(10000)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", v.tokens},
		{"tokenizer.ggml.scores", v.scores},
		{"tokenizer.ggml.token_type", v.types},
		{"tokenizer.ggml.unknown_token_id", uint32(0)},
		{"tokenizer.ggml.bos_token_id", uint32(1)},
		{"tokenizer.ggml.eos_token_id", uint32(2)},
		{"tokenizer.ggml.add_bos_token", true},
		{"tokenizer.ggml.add_eos_token", false},
	}

	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := &writer{w: bufio.NewWriter(f)}
	w.write(kv, tensors)
	if w.err == nil {
		w.err = w.w.(*bufio.Writer).Flush()
	}
	if err := f.Close(); w.err == nil {
		w.err = err
	}
	if w.err != nil {
		log.Fatal(w.err)
	}
	fmt.Fprintf(os.Stderr, "ggufgen: wrote %s (%d bytes, %d tokens, %d tensors)\n", *out, w.n, nVocab, len(tensors))
}

type keyValue struct {
	key   string
	value any
}

// GGUF metadata value types.
const (
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
)

// writer writes little-endian GGUF and remembers the first error and the
// number of bytes written (needed for alignment padding).
type writer struct {
	w   io.Writer
	n   int64
	err error
}

func (w *writer) raw(v any) {
	if w.err != nil {
		return
	}
	w.err = binary.Write(w.w, binary.LittleEndian, v)
	w.n += int64(binary.Size(v))
}

func (w *writer) str(s string) {
	w.raw(uint64(len(s)))
	if w.err == nil {
		_, w.err = io.WriteString(w.w, s)
		w.n += int64(len(s))
	}
}

func (w *writer) pad() {
	if r := w.n % alignment; r != 0 {
		w.raw(make([]byte, alignment-r))
	}
}

func (w *writer) value(v any) {
	switch v := v.(type) {
	case uint32:
		w.raw(uint32(ggufUint32))
		w.raw(v)
	case float32:
		w.raw(uint32(ggufFloat32))
		w.raw(v)
	case bool:
		w.raw(uint32(ggufBool))
		w.raw(v)
	case string:
		w.raw(uint32(ggufString))
		w.str(v)
	case []string:
		w.raw(uint32(ggufArray))
		w.raw(uint32(ggufString))
		w.raw(uint64(len(v)))
		for _, s := range v {
			w.str(s)
		}
	case []float32:
		w.raw(uint32(ggufArray))
		w.raw(uint32(ggufFloat32))
		w.raw(uint64(len(v)))
		w.raw(v)
	case []int32:
		w.raw(uint32(ggufArray))
		w.raw(uint32(ggufInt32))
		w.raw(uint64(len(v)))
		w.raw(v)
	default:
		panic(fmt.Sprintf("unsupported metadata type %T", v))
	}
}

func (w *writer) write(kv []keyValue, tensors []tensor) {
	w.raw([]byte("GGUF"))
	w.raw(uint32(3)) // version
	w.raw(uint64(len(tensors)))
	w.raw(uint64(len(kv)))
	for _, e := range kv {
		if !strings.Contains(e.key, ".") {
			panic("metadata keys are namespaced: " + e.key)
		}
		w.str(e.key)
		w.value(e.value)
	}

	// Tensor infos carry offsets relative to the start of the data section;
	// each tensor starts on an alignment boundary.
	var offset uint64
	for _, t := range tensors {
		w.str(t.name)
		w.raw(uint32(len(t.dims)))
		w.raw(t.dims)
		w.raw(uint32(0)) // GGML_TYPE_F32
		w.raw(offset)
		size := uint64(len(t.data) * 4)
		offset += (size + alignment - 1) / alignment * alignment
	}

	w.pad()
	for _, t := range tensors {
		w.raw(t.data)
		w.pad()
	}
}
