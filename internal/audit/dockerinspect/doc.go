// Package dockerinspect turns `docker inspect` output (one object or an
// array) and Engine API inspect responses into audit.Containers. It reads
// only the bytes or structs it is given; the live daemon is reached by
// package engine.
package dockerinspect
