package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// StartProfile asks the server to start the profiler its --profiler-config
// describes, naming the traces after prefix. The server offers the call
// only when started with a profiler configured.
func (s *Server) StartProfile(ctx context.Context, prefix string) error {
	body, _ := json.Marshal(map[string]string{"profile_prefix": prefix})
	return s.post(ctx, "/start_profile", body)
}

// StopProfile asks the server to stop the profiler; it answers once the
// traces are written.
func (s *Server) StopProfile(ctx context.Context) error {
	return s.post(ctx, "/stop_profile", nil)
}

func (s *Server) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
