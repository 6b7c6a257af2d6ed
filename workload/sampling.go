package workload

// Sampling is the SamplingParams every sequence of a batch shares, under
// vLLM's own argument names.
type Sampling struct {
	N           int     `json:"n"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	IgnoreEOS   bool    `json:"ignore_eos"`
	MaxTokens   int     `json:"max_tokens"`
	// Logprobs asks for the log-prob of each sampled token and of no other
	// (vLLM's logprobs=0), for a scored pass; a measured pass never does.
	Logprobs bool `json:"sampled_logprobs,omitempty"`
}

// Sampling is the rollout's SamplingParams: verl's sampling (temperature 1,
// top_p 1) with ignore_eos, unless --eos, so every sample has the asked
// length and runs compare token for token, as `vllm bench throughput` does.
// With per-sample requests n is 1 and max_tokens each sample's own.
func (r Rollout) Sampling() Sampling {
	return Sampling{N: r.N, Temperature: 1.0, TopP: 1.0, IgnoreEOS: !r.EOS, MaxTokens: r.OutputLen}
}
