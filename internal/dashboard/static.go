package dashboard

import (
	"embed"
	"net/http"
	"path"
)

//go:embed web
var web embed.FS

var staticTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

// serveStatic serves the stylesheet and the list's script, the only
// files the pages load (the CSP allows nothing else).
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	typ, ok := staticTypes[path.Ext(name)]
	b, err := web.ReadFile("web/" + name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(b)
}
