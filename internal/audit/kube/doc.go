// Package kube turns Kubernetes manifests into audit.Containers: Pod,
// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
// CronJob, PodTemplate, List and *List kinds, in multi-document YAML or JSON.
// Regular, init and ephemeral containers are all audited, with the pod- and
// container-level securityContext merged the way the kubelet merges them.
// Custom resources that embed a pod template (spec.template.spec) are audited
// too; other kinds are skipped. Positions come from a yaml.v3 node tree; values
// are decoded with sigs.k8s.io/yaml into k8s.io/api types, as kubectl does.
package kube
