package scan

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/compose"
	"github.com/palisade-sec/palisade/internal/audit/dockerinspect"
	"github.com/palisade-sec/palisade/internal/audit/kube"
	"github.com/palisade-sec/palisade/internal/audit/oci"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Kind is a recognized input format.
type Kind string

// Input formats.
const (
	KindUnknown Kind = ""
	KindInspect Kind = "docker-inspect"
	KindCompose Kind = "compose"
	KindKube    Kind = "kubernetes"
	KindOCI     Kind = "oci"
	// KindTemplate is a Kubernetes manifest with template markers ({{ }}),
	// a Helm chart template, which has to be rendered before it can be read.
	KindTemplate Kind = "template"
)

// Stdin is the path that names standard input; findings show it as StdinName.
const (
	Stdin     = "-"
	StdinName = "<stdin>"
)

// Options tune a scan.
type Options struct {
	// Progress, when set, is called after each file with the count done and
	// the total.
	Progress func(done, total int)
	// Workers is the parallelism (GOMAXPROCS when 0).
	Workers int
	// ComposeEnv replaces the environment for compose interpolation.
	ComposeEnv []string
	// Stdin is read for the path "-".
	Stdin io.Reader
}

// Result is the outcome of a scan.
type Result struct {
	Findings []audit.Finding
	// Containers is the number of containers (services, workloads'
	// containers) audited.
	Containers int
	Files      int
	// Errors holds one *srcpos.Error per input (or document of an
	// input) that could not be audited.
	Errors []error
	// Notes name documents that were skipped on purpose (unknown kinds).
	Notes []audit.Note
}

// job is one unit of work: a file, or a compose base with its overrides.
type job struct {
	files    []string
	explicit bool
}

// Detect names the format of a file from its name and content. Standard
// input (StdinName) is judged by content alone.
func Detect(name string, data []byte) Kind {
	ext := strings.ToLower(filepath.Ext(name))
	isJSON, isYAML := ext == ".json", ext == ".yaml" || ext == ".yml"
	if name == StdinName {
		t := bytes.TrimSpace(data)
		isJSON = len(t) > 0 && (t[0] == '{' || t[0] == '[')
		isYAML = !isJSON
	}
	switch {
	case isJSON:
		switch {
		case oci.Looks(data):
			return KindOCI
		case dockerinspect.Looks(data):
			return KindInspect
		case kube.Looks(data):
			return KindKube
		}
	case isYAML:
		if compose.IsComposeName(name) {
			return KindCompose
		}
		if kube.Looks(data) {
			if bytes.Contains(data, []byte("{{")) {
				return KindTemplate
			}
			return KindKube
		}
		if compose.Looks(data) {
			return KindCompose
		}
	}
	return KindUnknown
}

// Scan audits every path. Directories are walked (skipping hidden and vendor
// directories); inside them files that are not in a known format are passed
// over silently, while a named file that is not is an error.
func Scan(ctx context.Context, paths []string, opt Options) *Result {
	res := &Result{}
	jobs, errs := plan(ctx, paths)
	if opt.Stdin == nil {
		opt.Stdin = os.Stdin
	}
	res.Errors = append(res.Errors, errs...)
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type out struct {
		findings   []audit.Finding
		notes      []audit.Note
		containers int
		counted    bool
		err        error
	}
	results := make([]out, len(jobs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fs, notes, n, counted, err := auditJob(ctx, jobs[i], opt)
				results[i] = out{fs, notes, n, counted, err}
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done, len(jobs))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	for _, r := range results {
		if r.counted {
			res.Files++
		}
		res.Containers += r.containers
		res.Findings = append(res.Findings, r.findings...)
		res.Notes = append(res.Notes, r.notes...)
		// A multi-document file reports each broken document on its own.
		if j, ok := r.err.(interface{ Unwrap() []error }); ok {
			res.Errors = append(res.Errors, j.Unwrap()...)
		} else if r.err != nil {
			res.Errors = append(res.Errors, r.err)
		}
	}
	if err := ctx.Err(); err != nil {
		res.Errors = append(res.Errors, err)
	}
	res.Findings = audit.Normalize(res.Findings)
	return res
}

// plan expands directories into jobs and pairs compose overrides with their
// base file.
func plan(ctx context.Context, paths []string) ([]job, []error) {
	var jobs []job
	var errs []error
	for _, p := range paths {
		if p == Stdin {
			jobs = append(jobs, job{files: []string{Stdin}, explicit: true})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &srcpos.Error{Pos: srcpos.Position{File: p}, Err: errors.Unwrap(err)})
			continue
		}
		if !st.IsDir() {
			jobs = append(jobs, job{files: []string{p}, explicit: true})
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err() // a walk of a huge tree stops on Ctrl-C
			}
			if err != nil {
				errs = append(errs, &srcpos.Error{Pos: srcpos.Position{File: path}, Err: unwrapPath(err)})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if path != p && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "vendor") {
					return fs.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(name)) {
			case ".json", ".yaml", ".yml":
				files = append(files, path)
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			errs = append(errs, &srcpos.Error{Pos: srcpos.Position{File: p}, Err: err})
		}
		jobs = append(jobs, pairOverrides(files)...)
	}
	return jobs, errs
}

// pairOverrides attaches compose.override.yaml (and docker-compose.override.yml)
// to the base file in the same directory, as docker compose does.
func pairOverrides(files []string) []job {
	sort.Strings(files)
	base := map[string]int{} // dir → index of job with a base compose file
	var jobs []job
	var overrides []string
	for _, f := range files {
		if compose.IsOverrideName(f) {
			overrides = append(overrides, f)
			continue
		}
		b := filepath.Base(f)
		if b == "compose.yaml" || b == "compose.yml" || b == "docker-compose.yaml" || b == "docker-compose.yml" {
			if _, dup := base[filepath.Dir(f)]; !dup {
				base[filepath.Dir(f)] = len(jobs)
			}
		}
		jobs = append(jobs, job{files: []string{f}})
	}
	for _, o := range overrides {
		if i, ok := base[filepath.Dir(o)]; ok {
			jobs[i].files = append(jobs[i].files, o)
		} else {
			jobs = append(jobs, job{files: []string{o}})
		}
	}
	return jobs
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// auditJob reads, parses and audits one job. counted is false for files in a
// walked directory that turned out not to be in a known format.
func auditJob(ctx context.Context, j job, opt Options) (fs []audit.Finding, notes []audit.Note, containers int, counted bool, err error) {
	file := j.files[0]
	var data []byte
	if file == Stdin {
		file = StdinName
		data, err = input.ReadAll(ctx, opt.Stdin, "", input.Manifest)
		if err != nil {
			return nil, nil, 0, true, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: err}
		}
	} else if data, err = readFile(ctx, file); err != nil {
		return nil, nil, 0, true, err
	}
	kind := Detect(file, data)
	var cs []*audit.Container
	switch kind {
	case KindUnknown:
		if j.explicit {
			return nil, nil, 0, true, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: audit.ErrNotRecognized}
		}
		return nil, nil, 0, false, nil
	case KindTemplate:
		if j.explicit {
			return nil, nil, 0, true, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: errors.New("a Helm chart template ({{ }}): render it first, e.g. helm template CHART | palisade audit -")}
		}
		return nil, nil, 0, false, nil
	case KindInspect:
		cs, err = dockerinspect.Parse(file, data)
	case KindOCI:
		var c *audit.Container
		c, err = oci.Parse(file, data)
		if c != nil {
			cs = append(cs, c)
		}
	case KindKube:
		cs, notes, err = kube.Parse(file, data)
	case KindCompose:
		if file == StdinName {
			return nil, nil, 0, true, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: errors.New("compose files are read from disk (relative paths, .env and extends are resolved against their directory): pass the file's path")}
		}
		cs, err = compose.Parse(ctx, j.files, compose.Options{Env: opt.ComposeEnv})
	}
	// Ignore comments apply in the file a finding points into; one on a
	// container's own line covers all of its findings.
	ign := map[string]audit.InlineIgnores{file: audit.ParseInlineIgnores(data)}
	for _, extra := range j.files[1:] {
		if b, err := readFile(ctx, extra); err == nil {
			ign[extra] = audit.ParseInlineIgnores(b)
		}
	}
	for _, c := range cs {
		for _, f := range audit.Audit(c) {
			if ign[f.File].Covers(f.Line, f.Check) || ign[c.File].Covers(f.ContainerLine, f.Check) {
				continue
			}
			fs = append(fs, f)
		}
	}
	return fs, notes, len(cs), true, err
}

func readFile(ctx context.Context, name string) ([]byte, error) {
	b, err := input.ReadFile(ctx, name, input.Manifest)
	var tl *input.TooLargeError
	if errors.As(err, &tl) {
		tl.Name = "" // the position names the file
	}
	if err != nil {
		return nil, &srcpos.Error{Pos: srcpos.Position{File: name}, Err: unwrapPath(err)}
	}
	return b, nil
}
