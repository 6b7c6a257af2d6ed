package metrics

// Request is one prompt's outcome.
type Request struct {
	PromptTokens int
	Completions  []Completion
}

// Completion is one sample.
type Completion struct {
	OutputTokens int
	FinishReason string
	// Timed is true when the engine reported the request's timestamps (it
	// does with stats logging on). FirstTokenS and FinishS are the engine
	// core's stamps of the steps that produced the request's first and last
	// token, in seconds after the call began. With n > 1 they are the
	// request's, which vLLM takes from the sample that finished last.
	Timed       bool
	FirstTokenS float64
	FinishS     float64
	Preemptions int
}
