package event

import (
	"path"
	"strings"
)

// ProgramPath is the path a program was run by, for record.Programs and
// the baseline's exe_known: the file name exec was given, made absolute
// against cwd. A process that re-ran its own executable through
// /proc/self/exe (busybox's shell runs its applets so) is named by its
// argv[0] beside the executable: /bin/busybox run as "wget" is /bin/wget.
// "" when it cannot be told.
func ProgramPath(filename, exe, argv0, cwd string) string {
	if filename == "" {
		return ""
	}
	if !strings.HasPrefix(filename, "/") {
		if cwd == "" {
			return ""
		}
		filename = cwd + "/" + filename
	}
	p := path.Clean(filename)
	if isProcExe(p) && exe != "" && argv0 != "" {
		return path.Join(path.Dir(exe), path.Base(argv0))
	}
	return p
}

// isProcExe reports /proc/self/exe, /proc/thread-self/exe, /proc/PID/exe.
func isProcExe(p string) bool {
	rest, ok := strings.CutPrefix(p, "/proc/")
	if !ok {
		return false
	}
	who, ok := strings.CutSuffix(rest, "/exe")
	if !ok || who == "" || strings.Contains(who, "/") {
		return false
	}
	if who == "self" || who == "thread-self" {
		return true
	}
	for _, c := range who {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
