# Palisade build and test entry points. `make test` is the README's test
# command and what .ci/run calls.
GO ?= go
BIN ?= bin/palisade
# make install puts the binary in $(DESTDIR)$(PREFIX)/bin and the shell
# completions where bash, zsh and fish look for them.
PREFIX ?= /usr/local
DESTDIR ?=

# Stamped into the binary; `palisade version` prints them.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
CLI := github.com/palisade-sec/palisade/internal/cli
LDFLAGS := -X $(CLI).Version=$(VERSION) -X $(CLI).Commit=$(COMMIT) -X $(CLI).Date=$(DATE)

.PHONY: build install uninstall test test-unit test-libseccomp bench generate vet image

# make image: the agent's OCI image, FROM scratch (nothing to pull), tagged
# $(IMAGE):$(IMAGE_TAG) and $(IMAGE):latest. A tag allows [A-Za-z0-9_.-].
IMAGE ?= palisade
IMAGE_TAG ?= $(subst +,_,$(subst /,_,$(VERSION)))
IMAGE_CONTEXT ?= bin/image

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/palisade

image: build
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)
	cp $(BIN) $(IMAGE_CONTEXT)/palisade
	cp deploy/image/Dockerfile deploy/image/passwd deploy/image/group $(IMAGE_CONTEXT)/
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg DATE=$(DATE) \
		-t $(IMAGE):$(IMAGE_TAG) -t $(IMAGE):latest $(IMAGE_CONTEXT)
	rm -rf $(IMAGE_CONTEXT)

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/palisade
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/palisade
	$(BIN) completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_palisade
	$(BIN) completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/palisade.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/palisade $(DESTDIR)$(PREFIX)/share/bash-completion/completions/palisade \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_palisade $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/palisade.fish

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
