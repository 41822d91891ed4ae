//go:build linux || darwin || freebsd || netbsd || openbsd

package codegen

import (
	"crypto/tls"
	"net"
	"syscall"
)

// idleConnClosed reports whether the peer has closed an idle connection, or
// sent on it, which makes it unusable too. It peeks at the socket without
// blocking: a read with a deadline in the past would not even try, since
// Go's poller fails it before the system call.
func idleConnClosed(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n > 0 || (err == nil && n == 0) || (err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK)
		return true // never wait for readability
	})
	return closed || err != nil
}
