// Package scan walks files and directories, recognizes what each file
// describes (docker inspect JSON, compose file, Kubernetes manifest, OCI
// config.json), hands it to the matching source package and runs the audit
// checks. A broken file is reported with its position and does not stop the
// others.
package scan
