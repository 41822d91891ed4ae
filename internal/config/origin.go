package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// hostToASCII converts a host name as the WHATWG URL standard, which
// browsers follow, does before they send it in Origin: UTS #46 mapping
// (lower case included) without transitional processing, then punycode for
// each label that is not ASCII. Like browsers, it accepts underscores.
var hostToASCII = idna.New(idna.MapForLookup(), idna.StrictDomainName(false), idna.Transitional(false),
	idna.BidiRule(), idna.CheckJoiners(true))

// normalOrigin checks that s is a browser origin, scheme://host[:port], and
// returns it as browsers send it in Origin: the host in ASCII (punycode for
// an internationalised name) and lower case, without a trailing slash or a
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
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err != nil { // a name, not an IP literal
		if host, err = hostToASCII.ToASCII(host); err != nil {
			return "", fmt.Errorf("the host is not a valid domain name (%v)", err)
		}
	}
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		return u.Scheme + "://" + net.JoinHostPort(host, port), nil
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host, nil
}

// loopback reports whether the listen address addr is on the loopback
// interface only: its host must be a loopback IP literal (127.0.0.0/8, ::1,
// or ::ffff:127.x.y.z). Names, localhost included, are refused, since a
// hosts file or resolver may map them elsewhere; an empty host listens on
// every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
