package server

import (
	"net/http"
	"time"
)

// health is the body of GET /health.
type health struct {
	Status        string  `json:"status" example:"healthy"`
	Version       string  `json:"version" example:"1.0.0"`
	Mode          string  `json:"mode" example:"sandbox" enums:"sandbox,upstream"`
	Timestamp     string  `json:"timestamp" example:"2026-11-25T20:00:00Z"`
	UptimeSeconds float64 `json:"uptime_seconds" example:"42.5"`
} //@name HealthResponse

// handleHealth reports liveness without calling upstream.
//
//	@Summary		Liveness
//	@Description	Cheap liveness check: no upstream call and no token needed.
//	@Tags			system
//	@Produce		json
//	@Success		200	{object}	health
//	@ID			getHealth
//	@Router			/health [get]
func handleHealth(version, mode string, started time.Time) http.Handler {
	return apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		now := time.Now()
		return writeJSON(w, http.StatusOK, health{
			Status:        "healthy",
			Version:       version,
			Mode:          mode,
			Timestamp:     now.UTC().Format(time.RFC3339),
			UptimeSeconds: now.Sub(started).Round(time.Millisecond).Seconds(),
		})
	})
}
