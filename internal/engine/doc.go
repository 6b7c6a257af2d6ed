// Package engine drives a vLLM engine in the embedded interpreter: it builds
// LLM(...) from Go values, submits token-id prompts with SamplingParams, times
// LLM.generate from Go, and reads back what the engine returned. It also
// describes the environment and writes the built-in tiny model, both with
// rollbench's Python package, run in a child python where no interpreter is
// embedded; those parts build without the interpreter (-tags nopython).
package engine
