package alert

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewID returns a UUIDv7 (RFC 9562) for an alert raised at t: 48 bits of
// Unix milliseconds then 74 random bits, so IDs sort roughly by time and
// two agents never draw the same one.
func NewID(t time.Time) string {
	var u [16]byte
	rand.Read(u[6:]) // crypto/rand.Read never fails (Go 1.24+)
	binary.BigEndian.PutUint64(u[:8], uint64(t.UnixMilli())<<16|uint64(binary.BigEndian.Uint16(u[6:8])))
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return format(u)
}

// DerivedID returns a UUID-shaped ID that is the same for the same parts
// (version 8, from SHA-256), for alerts several processes may raise about
// one fact, such as a silent agent: each stores it once.
func DerivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x80 // version 8: custom
	u[8] = u[8]&0x3f | 0x80
	return format(u)
}

func format(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
