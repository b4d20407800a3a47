// Package fields is the registry of Falco's filter fields (evt.*, proc.*,
// thread.*, fd.*, user.*, group.*, container.*, k8s.*): their names, types
// and descriptions, and typed extractors that read them from an
// event.Event without allocating. A field that has no value for an event
// reports "not present", which Falco prints as <NA>.
package fields
