package dashboard

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"unicode/utf8"

	"github.com/palisade-sec/palisade/internal/escape"
)

//go:embed tmpl
var tmplFS embed.FS

// pages are parsed once: each is the layout plus its content.
var pages = func() map[string]*template.Template {
	layout := template.Must(template.ParseFS(tmplFS, "tmpl/layout.html"))
	m := map[string]*template.Template{}
	for _, name := range []string{"overview", "list", "detail", "state"} {
		m[name] = template.Must(template.Must(layout.Clone()).ParseFS(tmplFS, "tmpl/"+name+".html"))
	}
	return m
}()

type pageData struct {
	Title, Nav, Error string
	Script            bool
	Data              any
}

// render executes a page into a buffer first, so a template failure is a
// 500, not half a page.
func render(w http.ResponseWriter, status int, name string, p pageData) {
	var b bytes.Buffer
	if err := pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// clip is an attacker-controlled string made visible (escape.Text) and
// shortened for a table cell; the template shows Full behind a
// <details> when Long.
type clip struct {
	Short, Full string
	Long        bool
}

func clipText(s string, n int) clip {
	full := escape.Text(s)
	if utf8.RuneCountInString(full) <= n {
		return clip{Full: full}
	}
	i, k := 0, 0
	for i = range full {
		if k == n {
			break
		}
		k++
	}
	return clip{Short: full[:i], Full: full, Long: true}
}
