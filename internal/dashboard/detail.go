package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/store"
)

type kv struct {
	K, V, Short string
	Long        bool
}

type tagLink struct{ Name, Link string }

type proc struct{ Name, PID, Cmd string }

type detailData struct {
	P                                        int
	Rule, Time, Priority, Host, Source, UUID string
	StoreID                                  int64
	Output                                   string
	Tags                                     []tagLink
	JSONLink, RuleLink, ContainerLink        string
	HostLink                                 string
	RuleLoaded                               bool
	RuleDesc, RuleCond, RuleSource           string
	Ancestry                                 []proc
	Container, Fields, Extra                 []kv
	Response                                 []string
}

// knownKeys are the alert document's keys the page shows in their own
// places; any other key (a newer agent's, such as "response") is shown as
// it is stored.
var knownKeys = map[string]bool{"time": true, "rule": true, "priority": true, "output": true, "output_fields": true,
	"source": true, "tags": true, "hostname": true, "uuid": true}

// fieldText is an output field's value as text, made visible.
func fieldText(v any) string {
	switch x := v.(type) {
	case nil:
		return "<NA>"
	case string:
		return escape.Text(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return escape.Text(string(b))
}

// jsonText is a JSON value indented, each line made visible.
func jsonText(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		b.Reset()
		b.Write(raw)
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = escape.Text(l)
	}
	return strings.Join(lines, "\n")
}

func (d *dash) record(w http.ResponseWriter, r *http.Request, page pageData, tmpl string) (store.Record, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		page.Error = "alert ID: want a positive number"
		render(w, http.StatusBadRequest, tmpl, page)
		return store.Record{}, false
	}
	rec, err := d.st.Get(r.Context(), id)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, store.ErrNotFound) {
			status = http.StatusNotFound
		}
		page.Error = escape.Text(err.Error())
		render(w, status, tmpl, page)
		return rec, false
	}
	return rec, true
}

// detailJSON serves the alert's stored document, indented, as a download.
func (d *dash) detailJSON(w http.ResponseWriter, r *http.Request) {
	rec, ok := d.record(w, r, pageData{Title: "Alert", Nav: "alerts"}, "detail")
	if !ok {
		return
	}
	var b bytes.Buffer
	if err := json.Indent(&b, rec.Doc, "", "  "); err != nil {
		http.Error(w, "stored alert is not JSON", http.StatusInternalServerError)
		return
	}
	b.WriteByte('\n')
	// < > & only occur inside JSON strings, where \u escapes mean the same.
	out := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(b.String())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="palisade-alert-%d.json"`, rec.ID))
	io.WriteString(w, out)
}

func (d *dash) detail(w http.ResponseWriter, r *http.Request) {
	page := pageData{Title: "Alert", Nav: "alerts"}
	rec, ok := d.record(w, r, page, "detail")
	if !ok {
		return
	}
	a := rec.Alert
	data := &detailData{P: int(a.Priority), Rule: escape.Text(a.Rule), Time: a.Time.UTC().Format(time.RFC3339Nano),
		Priority: a.Priority.String(), Host: escape.Text(a.Hostname), Source: escape.Text(a.Source), UUID: escape.Text(a.ID),
		StoreID: rec.ID, Output: escape.Text(a.Output), JSONLink: fmt.Sprintf("/alert/%d/json", rec.ID),
		RuleLink: listLink(time.Time{}, time.Time{}, "rule", a.Rule)}
	page.Data = data
	for _, t := range a.Tags {
		data.Tags = append(data.Tags, tagLink{escape.Text(t), listLink(time.Time{}, time.Time{}, "tag", t)})
	}
	if c, _ := a.OutputFields["container.name"].(string); c != "" {
		data.ContainerLink = listLink(time.Time{}, time.Time{}, "container", c)
	}
	if a.Hostname != "" {
		data.HostLink = listLink(time.Time{}, time.Time{}, "host", a.Hostname)
	}
	if ri, ok := d.o.Rules[a.Rule]; ok {
		data.RuleLoaded, data.RuleDesc, data.RuleCond, data.RuleSource = true, escape.Text(ri.Desc), jsonLines(ri.Condition), escape.Text(ri.Source)
	}
	keys := make([]string, 0, len(a.OutputFields))
	for k := range a.OutputFields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fieldText(a.OutputFields[k])
		c := clipText(v, 240)
		data.Fields = append(data.Fields, kv{K: escape.Text(k), V: v, Short: c.Short, Long: c.Long})
		if strings.HasPrefix(k, "container.") || strings.HasPrefix(k, "k8s.") {
			data.Container = append(data.Container, kv{K: escape.Text(k), V: v})
		}
	}
	data.Ancestry = ancestry(a.OutputFields)
	var doc map[string]json.RawMessage
	if json.Unmarshal(rec.Doc, &doc) == nil {
		extra := make([]string, 0)
		for k := range doc {
			if !knownKeys[k] {
				extra = append(extra, k)
			}
		}
		sort.Strings(extra)
		for _, k := range extra {
			if k == "response" {
				data.Response = append(data.Response, jsonText(doc[k]))
				continue
			}
			data.Extra = append(data.Extra, kv{K: escape.Text(k), V: jsonText(doc[k])})
		}
	}
	render(w, http.StatusOK, "detail", page)
}

// jsonLines makes each line of a multi-line text visible, keeping the
// line breaks (a rule condition spans lines).
func jsonLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escape.Text(l)
	}
	return strings.Join(lines, "\n")
}

// ancestry is the process chain the alert's fields record, oldest first:
// proc.aname[N]/proc.apid[N] for N ≥ 2, the parent (proc.pname,
// proc.ppid, proc.pcmdline, or aname[1]) and the process itself. Empty
// when the alert has no parent fields.
func ancestry(f map[string]any) []proc {
	get := func(k string) string {
		v, ok := f[k]
		if !ok || v == nil {
			return ""
		}
		return fieldText(v)
	}
	var chain []proc
	for n := 2; n < 32; n++ {
		p := proc{Name: get(fmt.Sprintf("proc.aname[%d]", n)), PID: get(fmt.Sprintf("proc.apid[%d]", n))}
		if p.Name == "" && p.PID == "" {
			continue
		}
		chain = append([]proc{p}, chain...)
	}
	parent := proc{Name: get("proc.pname"), PID: get("proc.ppid"), Cmd: get("proc.pcmdline")}
	if parent.Name == "" {
		parent.Name = get("proc.aname[1]")
	}
	if parent.PID == "" {
		parent.PID = get("proc.apid[1]")
	}
	if parent.Name == "" && parent.PID == "" && len(chain) == 0 {
		return nil
	}
	chain = append(chain, parent)
	self := proc{Name: get("proc.name"), PID: get("proc.pid"), Cmd: get("proc.cmdline")}
	if self.Name == "" {
		self.Name = "(process)"
	}
	return append(chain, self)
}
