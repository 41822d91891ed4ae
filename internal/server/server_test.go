package server

import (
	"io"
	"strings"
	"testing"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
	"github.com/codegen-proxy/codegen-proxy/internal/stream"
)

func TestNewServerRefusesMissingDependencies(t *testing.T) {
	t.Parallel()
	client := &codegen.Client{BaseURL: "http://127.0.0.1:9"}
	hub := &stream.Hub{Client: client}
	t.Cleanup(hub.Close)
	full := Deps{Logger: newTestLogger(io.Discard), Client: client, Streams: hub}
	tests := []struct {
		name string
		drop func(*Deps)
		want string // in the error; "" for none
	}{
		{"all there", func(*Deps) {}, ""},
		{"no Logger", func(d *Deps) { d.Logger = nil }, "Logger"},
		{"no Client", func(d *Deps) { d.Client = nil }, "Client"},
		{"no Streams", func(d *Deps) { d.Streams = nil }, "Streams"},
		{"no Metrics (optional)", func(d *Deps) { d.Metrics = nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := full
			tt.drop(&d)
			h, err := NewServer(d)
			switch {
			case tt.want == "" && (err != nil || h == nil):
				t.Errorf("got %v, want a handler", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || h != nil):
				t.Errorf("got %v, want an error naming %s and no handler", err, tt.want)
			}
		})
	}
}
