package sys

// Environment is what a result needs to be reproduced and compared: the
// software versions, the device and the machine. The engine package fills
// it from the embedded interpreter or from a child python, with the same
// Python code; reading it needs neither.
type Environment struct {
	Python     string `json:"python"`
	Executable string `json:"python_executable"`
	VLLM       string `json:"vllm"`
	Torch      string `json:"torch"`
	// TorchNPU is empty where torch_npu is not installed.
	TorchNPU    string `json:"torch_npu,omitempty"`
	VLLMAscend  string `json:"vllm_ascend,omitempty"`
	Platform    string `json:"platform"`
	DeviceName  string `json:"device_name"`
	DeviceCount int    `json:"device_count"`
	// Multiprocessing tells whether vLLM ran its engine core in a child
	// process (VLLM_ENABLE_V1_MULTIPROCESSING, default on).
	Multiprocessing bool   `json:"vllm_v1_multiprocessing"`
	WorkerMethod    string `json:"vllm_worker_multiproc_method"`
	CPUModel        string `json:"cpu_model"`
	CPUCount        int    `json:"cpu_count"`
	Hostname        string `json:"hostname"`
	OS              string `json:"os"`
	// Env holds the variables that change what vLLM does or how fast.
	Env map[string]string `json:"env"`
}
