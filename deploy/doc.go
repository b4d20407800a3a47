// Package deploy holds what runs Palisade on a fleet — the agent's image
// (image/), its seccomp profile (seccomp/), Kubernetes manifests
// (kubernetes/), a systemd unit (systemd/) and a compose file (compose/) —
// and the tests that hold them to what docs/deploy.md says: the image
// builds and reports its version, every manifest decodes strictly and
// passes palisade audit, the unit passes systemd-analyze verify, and the
// agent started with only the manifest's privileges detects.
//
// It has no code of its own; nothing imports it.
package deploy
