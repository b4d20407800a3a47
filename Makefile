# Palisade build and test entry points. `make test` is the README's test
# command and what .ci/run calls.
GO ?= go
BIN ?= bin/palisade

.PHONY: build test test-unit test-libseccomp bench generate vet

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/palisade

# The whole suite: unit tests, then the libseccomp cross-check (cgo, behind a
# build tag so the shipped binary never links C).
test: vet
	$(GO) test -count=1 -timeout 40m ./...
	@if ls internal/seccomp/*libseccomp*_test.go >/dev/null 2>&1; then \
		CGO_ENABLED=1 $(GO) test -count=1 -tags libseccomp -run Libseccomp ./internal/seccomp/...; \
	fi

vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l cmd internal rules)"; if [ -n "$$unformatted" ]; then \
		echo "gofmt needed: $$unformatted"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/rules/
	$(GO) test -run '^$$' -bench . -benchmem ./internal/seccomp/
	CGO_ENABLED=1 $(GO) test -tags libseccomp -run '^$$' -bench LibseccompVsPalisade ./internal/seccomp/

generate:
	$(GO) generate ./...
