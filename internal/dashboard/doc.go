// Package dashboard serves the alert store read-only over HTTP: an
// overview (alerts over time stacked by priority, drawn as SVG on the
// server, and top rules, containers, images, pods and hosts), a filtered
// alert list paged by key with a live count of new alerts (server-sent
// events and one small embedded script), one page per alert, a runtime
// page from the agent's metrics, and /api/alerts, {"alerts":[...]} in
// Falco's shape. Every alert string is escaped twice over: escape.Text
// makes control characters visible, html/template escapes for the page;
// the CSP lets a page load only the package's own stylesheet and script.
//
// It does not listen or manage a server (palisade serve does), and never
// writes to the store.
package dashboard
