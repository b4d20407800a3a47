// Package dashboard serves the alert store read-only over HTTP: an HTML
// page with filters (priority, rule, container, image, time) and the same
// data as JSON at /api/alerts, {"alerts":[...]} in Falco's shape. Every
// alert string is escaped twice over: escape.Text makes control characters
// visible, html/template escapes for the page; the page runs no script
// (Content-Security-Policy: default-src 'none').
//
// It does not listen or manage a server (palisade serve does), and never
// writes to the store.
package dashboard
