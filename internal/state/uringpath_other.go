//go:build !linux

package state

func resolveInProc(procRoot string, pid uint32, dfd int32, name string, nofollow bool) (resolvedFile, bool) {
	return resolvedFile{}, false
}
