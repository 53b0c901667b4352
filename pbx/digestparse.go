package pbx

import (
	"strconv"
	"strings"
)

// digestCredentials is a parsed Authorization/Proxy-Authorization value.
type digestCredentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, Cnonce, QOP, Opaque string
	Nc                                                                    uint32
}

// parseDigestCredentials parses `Digest k=v, k="v", ...` (RFC 7616 section
// 3.4). Values are substrings of s, so parsing does not allocate unless a
// quoted value holds escapes. It runs on every authenticated request, hence
// our own parser rather than a general one.
func parseDigestCredentials(s string) (digestCredentials, bool) {
	var c digestCredentials
	s = strings.TrimLeft(s, " \t")
	if len(s) < 7 || !strings.EqualFold(s[:6], "Digest") || (s[6] != ' ' && s[6] != '\t') {
		return c, false
	}
	s = s[7:]
	for {
		s = strings.TrimLeft(s, " \t\r\n,")
		if s == "" {
			return c, true
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return c, false
		}
		key := strings.TrimRight(s[:eq], " \t")
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			end, escaped := 1, false
			for ; end < len(s); end++ {
				if s[end] == '\\' {
					escaped = true
					end++
					continue
				}
				if s[end] == '"' {
					break
				}
			}
			if end >= len(s) {
				return c, false // unterminated quote
			}
			val = s[1:end]
			if escaped {
				val = unescapeQuoted(val)
			}
			s = s[end+1:]
		} else {
			end := strings.IndexAny(s, ", \t")
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		switch strings.ToLower(key) {
		case "username":
			c.Username = val
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "uri":
			c.URI = val
		case "response":
			c.Response = val
		case "algorithm":
			c.Algorithm = val
		case "cnonce":
			c.Cnonce = val
		case "qop":
			c.QOP = val
		case "opaque":
			c.Opaque = val
		case "nc":
			nc, err := strconv.ParseUint(val, 16, 32)
			if err != nil {
				return c, false
			}
			c.Nc = uint32(nc)
		}
	}
}

func unescapeQuoted(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
