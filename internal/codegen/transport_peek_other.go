//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package codegen

import (
	"errors"
	"net"
	"time"
)

// idleConnClosed reports whether the peer has closed an idle connection, by
// reading with a short deadline (the system call is tried first) and
// restoring it.
func idleConnClosed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Millisecond)) //nolint:errcheck // a closed conn fails the read
	_, err := c.Read(make([]byte, 1))
	c.SetReadDeadline(time.Time{}) //nolint:errcheck // as above
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
