package config

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// normalOrigin checks that s is a browser origin, scheme://host[:port], and
// returns it as browsers send it in Origin: without a trailing slash or a
// default port. Wildcards are refused: these origins are allowed with
// credentials, and a pattern such as https://* would let any site read a
// signed-in user's answers.
func normalOrigin(s string) (string, error) {
	if strings.Contains(s, "*") {
		return "", errors.New("wildcards are not allowed with credentials (leave the list empty to allow any origin without them)")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("the scheme must be http or https")
	case u.Opaque != "" || u.Hostname() == "":
		return "", errors.New("no host")
	case u.User != nil:
		return "", errors.New("user info is not part of an origin")
	case u.Path != "" && u.Path != "/", u.RawPath != "":
		return "", errors.New("a path is not part of an origin")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("a query is not part of an origin")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", errors.New("a fragment is not part of an origin")
	}
	host := u.Host
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return u.Scheme + "://" + host, nil
}

// loopback reports whether the listen address addr is on the loopback
// interface only: localhost or a loopback IP. An empty host listens on every
// interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
