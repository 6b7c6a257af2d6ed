package sys

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc's times: 100 on every Linux
// architecture, whatever the kernel's own tick rate.
const clockTicks = 100

// Started identifies a process across pid reuse: its pid and when it
// started, in clock ticks since boot as /proc/PID/stat has it, which no later
// process with the same pid shares.
type Started struct {
	PID   int    `json:"pid"`
	Ticks uint64 `json:"start_ticks"`
	// At is the same start as a time, to show people.
	At time.Time `json:"started_at"`
}

// ProcessStarted reads when process pid started. An error wrapping
// os.ErrNotExist means there is no such process.
func ProcessStarted(pid int) (Started, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Started{}, fmt.Errorf("process %d: %w", pid, err)
	}
	ticks, err := startTicks(statFields(data))
	if err != nil {
		return Started{}, fmt.Errorf("process %d: %w", pid, err)
	}
	boot, err := bootTime()
	if err != nil {
		return Started{}, err
	}
	at := boot.Add(time.Duration(ticks) * time.Second / clockTicks)
	return Started{PID: pid, Ticks: ticks, At: at}, nil
}

// Alive reports whether the process s describes is still running: a process
// with its pid exists, is not a zombie, and started at the same tick.
func (s Started) Alive() bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID) + "/stat")
	if err != nil {
		return false
	}
	fields := statFields(data)
	ticks, err := startTicks(fields)
	return err == nil && fields[0] != "Z" && ticks == s.Ticks
}

// startTicks reads the start time, field 22 of /proc/PID/stat, from its
// fields after the command name (statFields), which begin at field 3.
func startTicks(fields []string) (uint64, error) {
	if len(fields) < 20 {
		return 0, errors.New("malformed /proc stat: no start time")
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("malformed /proc stat: start time %q", fields[19])
	}
	return ticks, nil
}

// bootTime is when the machine booted, /proc/stat's btime.
func bootTime() (time.Time, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, fmt.Errorf("boot time: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("btime ")); ok {
			sec, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("boot time: btime %q", v)
			}
			return time.Unix(sec, 0), nil
		}
	}
	return time.Time{}, errors.New("boot time: /proc/stat has no btime")
}
