package main

import (
	"encoding/json"
	"testing"
)

func TestBodiesOfEveryShapeAreValidCreatesOfTheSizeAsked(t *testing.T) {
	t.Parallel()
	for _, shape := range []string{"metadata", "image", "prompt"} {
		for _, size := range []int{4096, 1<<20 + 3} {
			b := bodyOfShape(shape, size)
			var req struct {
				Prompt   string          `json:"prompt"`
				Images   []string        `json:"images"`
				Metadata json.RawMessage `json:"metadata"`
			}
			if err := json.Unmarshal(b, &req); err != nil || req.Prompt == "" {
				t.Errorf("%s of %d bytes is not a create body (%v): %.80s", shape, size, err, b)
			}
			if len(b) != size {
				t.Errorf("%s: %d bytes, want %d", shape, len(b), size)
			}
		}
	}
}
