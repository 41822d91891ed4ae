package codegen

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"testing"
)

func TestRunActionsAndOrgReadsSendWhatTheAPIExpects(t *testing.T) {
	t.Parallel()
	before := "a0"
	tests := []struct {
		name string
		call func(context.Context, *Client) ([]byte, error)
		want received
	}{
		{"stop", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.StopRun(ctx, "tok", 323, StopAgentRunInput{AgentRunID: 9, BeforeCardOrderID: &before})
		}, received{method: "POST", path: "/v1/beta/organizations/323/agent/run/stop", contentType: "application/json",
			body: `{"agent_run_id":9,"before_card_order_id":"a0"}`}},
		{"ban", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.BanChecks(ctx, "tok", 323, StopAgentRunInput{AgentRunID: 9})
		}, received{method: "POST", path: "/v1/organizations/323/agent/run/ban", contentType: "application/json", body: `{"agent_run_id":9}`}},
		{"unban", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.UnbanChecks(ctx, "tok", 323, StopAgentRunInput{AgentRunID: 9})
		}, received{method: "POST", path: "/v1/organizations/323/agent/run/unban", contentType: "application/json", body: `{"agent_run_id":9}`}},
		{"remove from pr", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.RemoveFromPR(ctx, "tok", 323, StopAgentRunInput{AgentRunID: 9})
		}, received{method: "POST", path: "/v1/organizations/323/agent/run/remove-from-pr", contentType: "application/json", body: `{"agent_run_id":9}`}},
		{"edit pr", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.EditPR(ctx, "tok", 323, 123450, EditPRInput{State: "closed"})
		}, received{method: "PATCH", path: "/v1/organizations/323/prs/123450", contentType: "application/json", body: `{"state":"closed"}`}},
		{"repositories", func(ctx context.Context, c *Client) ([]byte, error) {
			return c.Repositories(ctx, "tok", 323, PageParams{Skip: 10, Limit: 10})
		}, received{method: "GET", path: "/v1/organizations/323/repos", query: "limit=10&skip=10"}},
		{"users", func(ctx context.Context, c *Client) ([]byte, error) { return c.Users(ctx, "tok", 323, PageParams{}) },
			received{method: "GET", path: "/v1/organizations/323/users"}},
		{"user", func(ctx context.Context, c *Client) ([]byte, error) { return c.User(ctx, "tok", 323, 1002) },
			received{method: "GET", path: "/v1/organizations/323/users/1002"}},
		{"integrations", func(ctx context.Context, c *Client) ([]byte, error) { return c.Integrations(ctx, "tok", 323) },
			received{method: "GET", path: "/v1/organizations/323/integrations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, got := recorder(t, 200, `{"ok":true}`)
			body, err := tt.call(context.Background(), c)
			if err != nil || string(body) != `{"ok":true}` {
				t.Fatalf("call: %s, %v; want the upstream's body verbatim", body, err)
			}
			want := tt.want
			want.auth, want.requestID = "Bearer tok", "req-1"
			if len(*got) != 1 || (*got)[0] != want {
				t.Errorf("upstream saw\n %+v\nwant one\n %+v", *got, want)
			}
		})
	}
}

// TestWritesAreNeverRetried checks that stop, the check actions and the PR
// edit (a PATCH) are sent once, whatever fails after they may have arrived.
func TestWritesAreNeverRetried(t *testing.T) {
	t.Parallel()
	writes := map[string]func(*Client) error{
		"stop": func(c *Client) error {
			_, err := c.StopRun(context.Background(), "tok", 1, StopAgentRunInput{AgentRunID: 2})
			return err
		},
		"ban": func(c *Client) error {
			_, err := c.BanChecks(context.Background(), "tok", 1, StopAgentRunInput{AgentRunID: 2})
			return err
		},
		"edit pr": func(c *Client) error {
			_, err := c.EditPR(context.Background(), "tok", 1, 2, EditPRInput{State: "open"})
			return err
		},
	}
	for name, write := range writes {
		for failName, fail := range map[string]func(http.ResponseWriter){"503": status503, "reset": resetConn} {
			t.Run(name+" after "+failName, func(t *testing.T) {
				t.Parallel()
				srv, count := flaky(t, 1, fail)
				if err := write(&Client{BaseURL: srv.URL}); err == nil {
					t.Error("no error, want the failure told")
				}
				if got := count.Load(); got != 1 {
					t.Errorf("upstream calls = %d, want 1", got)
				}
			})
		}
	}
}

func TestPRStatesAreTheAPIsExactly(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"open": true, "ready_for_review": true, "OPEN": false, "merged": false, "": false} {
		if got := IsPRState(s); got != want {
			t.Errorf("IsPRState(%q) = %v, want %v", s, got, want)
		}
	}
	states := PRStates()
	states[0] = "changed"
	if !IsPRState("open") {
		t.Error("PRStates shares its slice with the package")
	}
}

func TestPRStatesAreTheSpecs(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../api/codegen-openapi3.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas struct {
				EditPRInput struct {
					Properties struct {
						State struct {
							Enum []string `json:"enum"`
						} `json:"state"`
					} `json:"properties"`
				} `json:"EditPRInput"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if got, want := PRStates(), spec.Components.Schemas.EditPRInput.Properties.State.Enum; !slices.Equal(got, want) {
		t.Errorf("PRStates() = %v, want the spec's EditPRInput.state %v", got, want)
	}
}
