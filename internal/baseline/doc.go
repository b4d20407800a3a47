// Package baseline binds what a workload was seen doing to the workload:
// one Baseline per image (and optionally container name or Kubernetes
// workload), made from recordings (FromRecording, Merge) or learned from
// live events (Learner), kept as one reviewable JSON file each (Marshal,
// Parse: strict, positioned errors, never loaded half), and compiled into
// an Index whose lookups answer the rules language's baseline.* fields.
//
// A Set is a directory of baselines bound to the containers of a detection
// run: it implements detect.Baselines (which baseline an event's container
// has, and one drift alert per item and container). It does not capture
// events, evaluate rules or apply profiles: internal/detect,
// internal/rules and internal/profile do.
package baseline
