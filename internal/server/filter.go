package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The Codegen API cannot filter runs by status or logs by message type, so
// the proxy does: it reads the upstream list from the start, 100 records per
// call, up to a scan limit, and cuts the requested page out of the matches.
// Within the limit, items and totals are exact; past it, see filterScan.

// fetchPage reads upstream records [skip, skip+limit) and the list's total.
type fetchPage func(ctx context.Context, skip, limit int) (items []json.RawMessage, total int, err error)

// scanResult is one filtered page.
type scanResult struct {
	items    []json.RawMessage // the matches at positions [Skip, Skip+Limit)
	matched  int               // matches among the records read
	scanned  int               // records read upstream
	complete bool              // the whole list was read: matched is the exact total
}

// filterScan reads up to budget records through fetch, keeping those match
// accepts, and returns the page of matches p asks for. When the budget ends
// before the list does, a full page is still exact and is returned with
// complete false (its total is a lower bound); a page that could not be
// filled is refused with 422 rather than returned short, since matching
// records beyond the budget may belong on it.
func filterScan(ctx context.Context, fetch fetchPage, match func(json.RawMessage) bool, p pageQuery, budget int) (scanResult, error) {
	res := scanResult{items: []json.RawMessage{}}
	for res.scanned < budget {
		items, total, err := fetch(ctx, res.scanned, min(maxLimit, budget-res.scanned))
		if err != nil {
			return res, err
		}
		for _, it := range items {
			if !match(it) {
				continue
			}
			if res.matched >= p.Skip && len(res.items) < p.Limit {
				res.items = append(res.items, it)
			}
			res.matched++
		}
		res.scanned += len(items)
		if len(items) == 0 || res.scanned >= total {
			res.complete = true
			break
		}
	}
	if !res.complete && len(res.items) < p.Limit {
		return res, &Error{Status: http.StatusUnprocessableEntity, Code: "filter_scan_limit", Message: fmt.Sprintf(
			"the filter read the newest %d records without filling this page; narrow it (user_id, source_type) or ask for an earlier page",
			res.scanned)}
	}
	return res, nil
}

// setScanHeaders tells the caller how a filtered answer was made:
// X-Filter-Scanned counts the upstream records read, and X-Filter-Complete is
// false when the total is only a lower bound.
func setScanHeaders(w http.ResponseWriter, res scanResult) {
	w.Header().Set("X-Filter-Scanned", strconv.Itoa(res.scanned))
	w.Header().Set("X-Filter-Complete", strconv.FormatBool(res.complete))
}

// pageCount is the number of pages of size holding total records.
func pageCount(total, size int) int { return (total + size - 1) / size }

// statusIn matches runs whose status, in any case, is in set.
func statusIn(set map[string]bool) func(json.RawMessage) bool {
	return func(item json.RawMessage) bool {
		var v struct {
			Status *string `json:"status"`
		}
		return json.Unmarshal(item, &v) == nil && v.Status != nil && set[strings.ToUpper(*v.Status)]
	}
}

// messageTypeIn matches logs whose message_type, in any case, is in set.
func messageTypeIn(set map[string]bool) func(json.RawMessage) bool {
	return func(item json.RawMessage) bool {
		var v struct {
			MessageType *string `json:"message_type"`
		}
		return json.Unmarshal(item, &v) == nil && v.MessageType != nil && set[strings.ToUpper(*v.MessageType)]
	}
}
