package result

import "github.com/rollbench/rollbench/metrics"

// Replicas is a data-parallel step's record: the cluster it ran on, where
// each replica went, and how they finished against each other.
type Replicas struct {
	DataParallelSize   int       `json:"data_parallel_size"`
	TensorParallelSize int       `json:"tensor_parallel_size"`
	Dispatch           string    `json:"dispatch"`
	Cluster            Cluster   `json:"cluster"`
	Placement          Placement `json:"placement"`
	// Spread is the first measured pass's; each repetition keeps its
	// imbalance.
	Spread *metrics.Spread `json:"spread,omitempty"`
	// HandoutS is when the first pass had handed its last request over, in
	// seconds after its first; CallOverheadS summarizes, over its calls to
	// replicas, the driver's wait for a call less the replica's own time in
	// it: what going through Ray added to each.
	HandoutS      float64         `json:"handout_s"`
	CallOverheadS metrics.Summary `json:"call_overhead_s"`
}

// Cluster is the Ray cluster the replicas ran on.
type Cluster struct {
	// Started is true when rollbench started the cluster for the run (and
	// ended it); false, it joined Address and left it running.
	Started bool   `json:"started"`
	Address string `json:"address"`
	// DeviceResource is the Ray resource a replica asks for per device: on
	// a CPU host a custom one that stands in for a GPU or NPU.
	DeviceResource string        `json:"device_resource"`
	Nodes          []ClusterNode `json:"nodes"`
	ConnectS       float64       `json:"connect_s"`
}

// ClusterNode is a live node and the resources Ray says it has.
type ClusterNode struct {
	NodeID    string             `json:"node_id"`
	IP        string             `json:"ip"`
	Resources map[string]float64 `json:"resources"`
}

// ReplicaInfo is one loaded replica.
type ReplicaInfo struct {
	PID    int     `json:"pid"`
	NodeID string  `json:"node_id"`
	NodeIP string  `json:"node_ip"`
	LoadS  float64 `json:"load_s"`
}

// Placement is what starting the replicas took.
type Placement struct {
	// PlaceS is from creating the placement groups until all were ready;
	// StartS is the actors' start and engine loads after it.
	PlaceS   float64       `json:"place_s"`
	StartS   float64       `json:"start_s"`
	Replicas []ReplicaInfo `json:"replicas"`
}
