// Package compose turns compose files into audit.Containers, one per service.
// Loading goes through compose-spec/compose-go, so interpolation (including
// the .env file beside the compose file), extends and profiles behave as in
// `docker compose`; every profile is activated so no service escapes the
// audit. Positions of the offending keys come from a yaml.v3 node tree of the
// first file.
package compose
