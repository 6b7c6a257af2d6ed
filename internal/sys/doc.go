// Package sys reads and controls the machine rollbench runs on: host
// information for results, the process trees an engine leaves behind, where
// the process's output goes, and the last lines of a log.
package sys
