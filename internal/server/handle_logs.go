package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/codegen-proxy/codegen-proxy/internal/codegen"
)

// handleRunLogs returns a run with one page of its logs. Without a
// message_type filter the upstream answer is passed on as it is.
func handleRunLogs(c *codegen.Client, orgs *orgResolver, scanLimit int) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		p, err := parsePage(q, maxLimit)
		if err != nil {
			return err
		}
		reverse, err := boolParam(q, "reverse")
		if err != nil {
			return err
		}
		types, err := wordsParam(q, "message_type")
		if err != nil {
			return err
		}
		tok := token(r.Context())
		org, err := orgs.resolve(r, tok)
		if err != nil {
			return err
		}
		params := codegen.LogsParams{PageParams: codegen.PageParams(p), Reverse: reverse}
		if types == nil {
			body, err := c.RunLogs(r.Context(), tok, org, id, params)
			if err != nil {
				return err
			}
			writeRaw(w, http.StatusOK, body)
			return nil
		}

		var first map[string]json.RawMessage // the run's fields, from the first page read
		fetch := func(ctx context.Context, skip, limit int) ([]json.RawMessage, int, error) {
			params.Skip, params.Limit = skip, limit
			body, err := c.RunLogs(ctx, tok, org, id, params)
			if err != nil {
				return nil, 0, err
			}
			var page codegen.RawRunLogs
			if err := json.Unmarshal(body, &page); err != nil {
				return nil, 0, fmt.Errorf("%w: decoding logs: %w", codegen.ErrBadResponse, err)
			}
			if first == nil {
				if err := json.Unmarshal(body, &first); err != nil {
					return nil, 0, fmt.Errorf("%w: decoding logs: %w", codegen.ErrBadResponse, err)
				}
			}
			total := 0
			if page.TotalLogs != nil {
				total = *page.TotalLogs
			}
			return page.Logs, total, nil
		}
		res, err := filterScan(r.Context(), fetch, messageTypeIn(types), p, scanLimit)
		if err != nil {
			return err
		}
		first["logs"], _ = json.Marshal(res.items)
		first["total_logs"], _ = json.Marshal(res.matched)
		first["page"], _ = json.Marshal(p.Skip/p.Limit + 1)
		first["size"], _ = json.Marshal(p.Limit)
		first["pages"], _ = json.Marshal(pageCount(res.matched, p.Limit))
		setScanHeaders(w, res)
		return writeJSON(w, http.StatusOK, first)
	})
}
