// Package kube turns Kubernetes manifests into audit.Containers: Pod,
// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
// CronJob, PodTemplate, List and *List kinds, in multi-document YAML or JSON.
// Regular, init and ephemeral containers are all audited, with the pod- and
// container-level securityContext merged the way the kubelet merges them.
// Custom resources that embed a pod template (spec.template.spec) are audited
// too; other kinds are skipped, unknown ones with an audit.Note. Each document
// (and List item) stands alone: a broken one is an error naming its index and
// line, and the rest are still read. Each document is parsed once with yaml.v3; the
// node tree gives positions and is converted to JSON with kubectl's YAML 1.1
// reading (yamlpos.ToJSON, checked against sigs.k8s.io/yaml in its tests),
// then decoded into k8s.io/api types.
package kube
